;; Forest prediction as a WebAssembly kernel (packages/ml/src/gbdt/forest-kernel.ts loads this file,
;; assembles it with wabt and checks it with WebAssembly.validate). The same walk as forest.ts's
;; `forestMargins`, so the margins are the same to the last bit: rows in blocks of 64, every tree
;; for every row of the block (a tree's nodes stay in cache while it is used), eight rows walking a
;; tree at once (eight independent chains of loads in flight), and each row's margin summed tree by
;; tree in tree order (float64).
;;
;; With eight walks in flight the walk is bound by how many instructions a step issues, not by how
;; long its loads take, so a step is kept to eight:
;; - nodes are addressed by byte address, and a split's right child is the record after its left
;;   child: the next node is `left + 16 × (v ≥ threshold)`;
;; - a missing value needs no test of its own: `widen` writes each row twice, once with missing
;;   values as +∞ (v ≥ t holds: they go right) and once as −∞ (they go left), and a node reads its
;;   feature from the copy that sends missing values its way (every other value is unchanged, and
;;   thresholds are finite: forest-kernel.ts checks);
;; - a leaf is its own left child and reads a column that is always NaN (v ≥ t never holds), so
;;   every step from it lands on it: the walks go down the tree's shallowest leaf depth with no test
;;   at all, and only then look, once per step, whether every walk has stopped moving.
;;
;; Memory layout (byte addresses): nodes: 16 bytes per node. A split: its left child's address
;; (i32), the byte offset of its feature in a widened row (i32), its threshold (f32), unused. A leaf:
;; its own address, the byte offset of the NaN column, its value (f64). roots, columns, shallow: per
;; tree, its root's address, its output column and the depth of its shallowest leaf. x: rows × cols
;; float32. wide: rows × (2·cols + 1) float32, written by `widen`. out: rows × k float64, holding the
;; base scores; the leaf values are added to it.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; widen(x, wide, cols, start, end): rows [start, end) of x as the walk reads them: the row with
  ;; NaN as +∞, the row with NaN as −∞, then one NaN.
  (func $widen (param $x i32) (param $wide i32) (param $cols i32) (param $start i32) (param $end i32)
    (local $row i32) (local $src i32) (local $dst i32) (local $half i32) (local $j i32) (local $v v128)
    (local $nan v128) (local $s f32)
    (local.set $half (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $row (local.get $start))
    (block $done
      (loop $nextRow
        (br_if $done (i32.ge_u (local.get $row) (local.get $end)))
        (local.set $src (i32.add (local.get $x) (i32.mul (local.get $row) (local.get $half))))
        (local.set $dst (i32.add (local.get $wide)
          (i32.mul (local.get $row) (i32.add (i32.shl (local.get $half) (i32.const 1)) (i32.const 4)))))
        (local.set $j (i32.const 0))
        ;; four values at a time, then the rest one by one
        (block $foursDone
          (loop $four
            (br_if $foursDone (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $cols)))
            (local.set $v (v128.load (i32.add (local.get $src) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $nan (f32x4.ne (local.get $v) (local.get $v)))
            (v128.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2)))
              (v128.bitselect (f32x4.splat (f32.const inf)) (local.get $v) (local.get $nan)))
            (v128.store (i32.add (i32.add (local.get $dst) (local.get $half)) (i32.shl (local.get $j) (i32.const 2)))
              (v128.bitselect (f32x4.splat (f32.const -inf)) (local.get $v) (local.get $nan)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $four)))
        (block $onesDone
          (loop $one
            (br_if $onesDone (i32.ge_u (local.get $j) (local.get $cols)))
            (local.set $s (f32.load (i32.add (local.get $src) (i32.shl (local.get $j) (i32.const 2)))))
            (f32.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2)))
              (select (f32.const inf) (local.get $s) (f32.ne (local.get $s) (local.get $s))))
            (f32.store (i32.add (i32.add (local.get $dst) (local.get $half)) (i32.shl (local.get $j) (i32.const 2)))
              (select (f32.const -inf) (local.get $s) (f32.ne (local.get $s) (local.get $s))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $one)))
        (f32.store (i32.add (local.get $dst) (i32.shl (local.get $half) (i32.const 1))) (f32.const nan))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $nextRow))))

  ;; margins(roots, columns, shallow, trees, x, wide, cols, out, k, start, end): rows [start,
  ;; end) widened, then every tree's leaf value added to out. The steps are written out for each of
  ;; the eight walks (V8 does not inline WebAssembly calls by default: calls cost half the speed).
  (func $margins (export "margins") (param $roots i32) (param $columns i32) (param $shallow i32)
    (param $trees i32) (param $x i32) (param $wide i32) (param $cols i32) (param $out i32) (param $k i32)
    (param $start i32) (param $end i32)
    (local $block i32) (local $blockEnd i32) (local $t i32) (local $root i32) (local $column i32) (local $i i32)
    (local $rowBytes i32) (local $o i32) (local $depth i32) (local $unchecked i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32) (local $r4 i32) (local $r5 i32) (local $r6 i32) (local $r7 i32)
    (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $a4 i32) (local $a5 i32) (local $a6 i32) (local $a7 i32)
    (local $l0 i32) (local $l1 i32) (local $l2 i32) (local $l3 i32) (local $l4 i32) (local $l5 i32) (local $l6 i32) (local $l7 i32)
    (call $widen (local.get $x) (local.get $wide) (local.get $cols) (local.get $start) (local.get $end))
    (local.set $rowBytes (i32.add (i32.shl (local.get $cols) (i32.const 3)) (i32.const 4)))
    (local.set $block (local.get $start))
    (block $rowsDone
      (loop $nextBlock
        (br_if $rowsDone (i32.ge_u (local.get $block) (local.get $end)))
        ;; blocks of 64 rows: every tree for every row of the block
        (local.set $blockEnd (select (local.get $end) (i32.add (local.get $block) (i32.const 64))
          (i32.lt_u (i32.sub (local.get $end) (local.get $block)) (i32.const 64))))
        (local.set $t (i32.const 0))
        (block $treesDone
          (loop $nextTree
            (br_if $treesDone (i32.ge_u (local.get $t) (local.get $trees)))
            (local.set $root (i32.load (i32.add (local.get $roots) (i32.shl (local.get $t) (i32.const 2)))))
            (local.set $column (i32.load (i32.add (local.get $columns) (i32.shl (local.get $t) (i32.const 2)))))
            (local.set $depth (i32.load (i32.add (local.get $shallow) (i32.shl (local.get $t) (i32.const 2)))))
            (local.set $i (local.get $block))
            ;; eight rows walk the tree at once (8 measured 8–10% faster than 4, and 12 slower than 8)
            (block $eightsDone
              (loop $nextEight
                (br_if $eightsDone (i32.gt_u (i32.add (local.get $i) (i32.const 8)) (local.get $blockEnd)))
                (local.set $r0 (i32.add (local.get $wide) (i32.mul (local.get $i) (local.get $rowBytes))))
                (local.set $r1 (i32.add (local.get $r0) (local.get $rowBytes)))
                (local.set $r2 (i32.add (local.get $r1) (local.get $rowBytes)))
                (local.set $r3 (i32.add (local.get $r2) (local.get $rowBytes)))
                (local.set $r4 (i32.add (local.get $r3) (local.get $rowBytes)))
                (local.set $r5 (i32.add (local.get $r4) (local.get $rowBytes)))
                (local.set $r6 (i32.add (local.get $r5) (local.get $rowBytes)))
                (local.set $r7 (i32.add (local.get $r6) (local.get $rowBytes)))
                (local.set $a0 (local.get $root))
                (local.set $a1 (local.get $root))
                (local.set $a2 (local.get $root))
                (local.set $a3 (local.get $root))
                (local.set $a4 (local.get $root))
                (local.set $a5 (local.get $root))
                (local.set $a6 (local.get $root))
                (local.set $a7 (local.get $root))
                (local.set $unchecked (local.get $depth))
                (block $walked
                  (loop $down
                    (local.set $l0 (i32.load (local.get $a0)))
                    (local.set $l1 (i32.load (local.get $a1)))
                    (local.set $l2 (i32.load (local.get $a2)))
                    (local.set $l3 (i32.load (local.get $a3)))
                    (local.set $l4 (i32.load (local.get $a4)))
                    (local.set $l5 (i32.load (local.get $a5)))
                    (local.set $l6 (i32.load (local.get $a6)))
                    (local.set $l7 (i32.load (local.get $a7)))
                    ;; above the shallowest leaf no walk can be at one; from there on, stop once every walk is
                    ;; (a node is its own left child only at a leaf)
                    (if (i32.eqz (local.get $unchecked))
                      (then (br_if $walked (i32.eqz (i32.or (i32.or (i32.or (i32.or (i32.or (i32.or (i32.or (i32.xor (local.get $l0) (local.get $a0))
                        (i32.xor (local.get $l1) (local.get $a1)))
                        (i32.xor (local.get $l2) (local.get $a2)))
                        (i32.xor (local.get $l3) (local.get $a3)))
                        (i32.xor (local.get $l4) (local.get $a4)))
                        (i32.xor (local.get $l5) (local.get $a5)))
                        (i32.xor (local.get $l6) (local.get $a6)))
                        (i32.xor (local.get $l7) (local.get $a7))))))
                      (else (local.set $unchecked (i32.sub (local.get $unchecked) (i32.const 1)))))
                    (local.set $a0 (i32.add (local.get $l0) (i32.shl (f32.ge (f32.load (i32.add (local.get $r0) (i32.load offset=4 (local.get $a0))))
                      (f32.load offset=8 (local.get $a0))) (i32.const 4))))
                    (local.set $a1 (i32.add (local.get $l1) (i32.shl (f32.ge (f32.load (i32.add (local.get $r1) (i32.load offset=4 (local.get $a1))))
                      (f32.load offset=8 (local.get $a1))) (i32.const 4))))
                    (local.set $a2 (i32.add (local.get $l2) (i32.shl (f32.ge (f32.load (i32.add (local.get $r2) (i32.load offset=4 (local.get $a2))))
                      (f32.load offset=8 (local.get $a2))) (i32.const 4))))
                    (local.set $a3 (i32.add (local.get $l3) (i32.shl (f32.ge (f32.load (i32.add (local.get $r3) (i32.load offset=4 (local.get $a3))))
                      (f32.load offset=8 (local.get $a3))) (i32.const 4))))
                    (local.set $a4 (i32.add (local.get $l4) (i32.shl (f32.ge (f32.load (i32.add (local.get $r4) (i32.load offset=4 (local.get $a4))))
                      (f32.load offset=8 (local.get $a4))) (i32.const 4))))
                    (local.set $a5 (i32.add (local.get $l5) (i32.shl (f32.ge (f32.load (i32.add (local.get $r5) (i32.load offset=4 (local.get $a5))))
                      (f32.load offset=8 (local.get $a5))) (i32.const 4))))
                    (local.set $a6 (i32.add (local.get $l6) (i32.shl (f32.ge (f32.load (i32.add (local.get $r6) (i32.load offset=4 (local.get $a6))))
                      (f32.load offset=8 (local.get $a6))) (i32.const 4))))
                    (local.set $a7 (i32.add (local.get $l7) (i32.shl (f32.ge (f32.load (i32.add (local.get $r7) (i32.load offset=4 (local.get $a7))))
                      (f32.load offset=8 (local.get $a7))) (i32.const 4))))
                    (br $down)))
                ;; out[row·k + column] += the leaf's value, row by row in tree order
                (local.set $o (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $k)) (local.get $column)) (i32.const 3))))
                (f64.store (local.get $o) (f64.add (f64.load (local.get $o)) (f64.load offset=8 (local.get $a0))))
                (local.set $o (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 1)) (local.get $k)) (local.get $column)) (i32.const 3))))
                (f64.store (local.get $o) (f64.add (f64.load (local.get $o)) (f64.load offset=8 (local.get $a1))))
                (local.set $o (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 2)) (local.get $k)) (local.get $column)) (i32.const 3))))
                (f64.store (local.get $o) (f64.add (f64.load (local.get $o)) (f64.load offset=8 (local.get $a2))))
                (local.set $o (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 3)) (local.get $k)) (local.get $column)) (i32.const 3))))
                (f64.store (local.get $o) (f64.add (f64.load (local.get $o)) (f64.load offset=8 (local.get $a3))))
                (local.set $o (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 4)) (local.get $k)) (local.get $column)) (i32.const 3))))
                (f64.store (local.get $o) (f64.add (f64.load (local.get $o)) (f64.load offset=8 (local.get $a4))))
                (local.set $o (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 5)) (local.get $k)) (local.get $column)) (i32.const 3))))
                (f64.store (local.get $o) (f64.add (f64.load (local.get $o)) (f64.load offset=8 (local.get $a5))))
                (local.set $o (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 6)) (local.get $k)) (local.get $column)) (i32.const 3))))
                (f64.store (local.get $o) (f64.add (f64.load (local.get $o)) (f64.load offset=8 (local.get $a6))))
                (local.set $o (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 7)) (local.get $k)) (local.get $column)) (i32.const 3))))
                (f64.store (local.get $o) (f64.add (f64.load (local.get $o)) (f64.load offset=8 (local.get $a7))))
                (local.set $i (i32.add (local.get $i) (i32.const 8)))
                (br $nextEight)))
            ;; the block's last rows, one at a time
            (block $tailDone
              (loop $nextRow
                (br_if $tailDone (i32.ge_u (local.get $i) (local.get $blockEnd)))
                (local.set $r0 (i32.add (local.get $wide) (i32.mul (local.get $i) (local.get $rowBytes))))
                (local.set $a0 (local.get $root))
                (block $leaf
                  (loop $descend
                    (local.set $l0 (i32.load (local.get $a0)))
                    (br_if $leaf (i32.eq (local.get $l0) (local.get $a0)))
                    (local.set $a0 (i32.add (local.get $l0) (i32.shl (f32.ge (f32.load (i32.add (local.get $r0) (i32.load offset=4 (local.get $a0))))
                      (f32.load offset=8 (local.get $a0))) (i32.const 4))))
                    (br $descend)))
                (local.set $o (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $k)) (local.get $column)) (i32.const 3))))
                (f64.store (local.get $o) (f64.add (f64.load (local.get $o)) (f64.load offset=8 (local.get $a0))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $nextRow)))
            (local.set $t (i32.add (local.get $t) (i32.const 1)))
            (br $nextTree)))
        (local.set $block (local.get $blockEnd))
        (br $nextBlock)))))
