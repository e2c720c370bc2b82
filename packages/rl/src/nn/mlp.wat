;; The policy and value networks' dense layers and Adam as WebAssembly kernels (packages/rl/src/nn/
;; mlp-kernel.ts loads this file; @oitrader/ml's wasm-kernels.ts assembles it with wabt). They give
;; exactly the float32 values mlp.ts's JavaScript loops give, so an agent trained with them is the
;; same bytes as one trained without (mlp-kernel.test.ts): JavaScript computes `y += x·w` on
;; Float32Array values in float64 and rounds the sum to float32 when it stores it; here each lane
;; does the same — promote to f64, multiply (exact: a product of two float32 fits a float64), add,
;; demote — two lanes at a time (f64x2), and every sum whose order matters is taken in the order
;; JavaScript takes it. Pointers are byte addresses; matrices are row-major float32.
(module
  (import "env" "memory" (memory 1))

  ;; y[o] ← float32(y[o] + x·w[o]) for o in [0, n): four outputs per step (two f64x2 halves), the
  ;; last n mod 4 one at a time.
  (func $axpy (param $y i32) (param $w i32) (param $n i32) (param $x f64)
    (local $o i32) (local $end i32) (local $xs v128) (local $yv v128) (local $wv v128)
    (local.set $xs (f64x2.splat (local.get $x)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $vectorsDone
      (loop $vectors
        (br_if $vectorsDone (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $yv (v128.load (i32.add (local.get $y) (local.get $o))))
        (local.set $wv (v128.load (i32.add (local.get $w) (local.get $o))))
        (v128.store (i32.add (local.get $y) (local.get $o))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero
              (f64x2.add (f64x2.promote_low_f32x4 (local.get $yv))
                         (f64x2.mul (local.get $xs) (f64x2.promote_low_f32x4 (local.get $wv)))))
            (f32x4.demote_f64x2_zero
              (f64x2.add (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $yv) (local.get $yv)))
                         (f64x2.mul (local.get $xs)
                                    (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $wv) (local.get $wv))))))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $vectors)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $o) (local.get $end)))
        (f32.store (i32.add (local.get $y) (local.get $o))
          (f32.demote_f64
            (f64.add (f64.promote_f32 (f32.load (i32.add (local.get $y) (local.get $o))))
                     (f64.mul (local.get $x) (f64.promote_f32 (f32.load (i32.add (local.get $w) (local.get $o))))))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $tail))))

  ;; forward(x, w, bias, y, batch, nIn, nOut): y = bias + x·W for each of `batch` rows (W is nIn × nOut,
  ;; bias nOut); an input of 0 is skipped, as mlp.ts skips it. The activation is applied by the caller.
  (func (export "forward") (param $x i32) (param $w i32) (param $bias i32) (param $y i32) (param $batch i32)
    (param $nIn i32) (param $nOut i32)
    (local $b i32) (local $i i32) (local $xRow i32) (local $yRow i32) (local $xi f32) (local $outBytes i32)
    (local.set $outBytes (i32.shl (local.get $nOut) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $xRow (i32.add (local.get $x) (i32.shl (i32.mul (local.get $b) (local.get $nIn)) (i32.const 2))))
        (local.set $yRow (i32.add (local.get $y) (i32.mul (local.get $b) (local.get $outBytes))))
        (memory.copy (local.get $yRow) (local.get $bias) (local.get $outBytes))
        (local.set $i (i32.const 0))
        (block $inputsDone
          (loop $inputs
            (br_if $inputsDone (i32.ge_u (local.get $i) (local.get $nIn)))
            (local.set $xi (f32.load (i32.add (local.get $xRow) (i32.shl (local.get $i) (i32.const 2)))))
            (if (f32.ne (local.get $xi) (f32.const 0))
              (then
                (call $axpy (local.get $yRow) (i32.add (local.get $w) (i32.mul (local.get $i) (local.get $outBytes)))
                  (local.get $nOut) (f64.promote_f32 (local.get $xi)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $inputs)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows))))

  ;; backward(x, w, dy, dx, g, gBias, batch, nIn, nOut, needDx): for each row b, as mlp.ts's loop:
  ;;   gBias[o] ← float32(gBias[o] + dy[o]);  g[i][o] ← float32(g[i][o] + x[i]·dy[o]);
  ;;   and when needDx: dx[i] = float32((Σ_o w[i][o]·dy[o]) · (1 − x[i]²)), the sum in float64 in o
  ;;   order — two inputs i, i+1 per f64x2 (one per lane), each lane summing in o order.
  (func (export "backward") (param $x i32) (param $w i32) (param $dy i32) (param $dx i32) (param $g i32)
    (param $gBias i32) (param $batch i32) (param $nIn i32) (param $nOut i32) (param $needDx i32)
    (local $b i32) (local $i i32) (local $o i32) (local $xRow i32) (local $dyRow i32) (local $dxRow i32)
    (local $outBytes i32) (local $wRow i32) (local $sums v128) (local $d f64) (local $xx v128) (local $sum f64)
    (local $xi f64)
    (local.set $outBytes (i32.shl (local.get $nOut) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $xRow (i32.add (local.get $x) (i32.shl (i32.mul (local.get $b) (local.get $nIn)) (i32.const 2))))
        (local.set $dxRow (i32.add (local.get $dx) (i32.shl (i32.mul (local.get $b) (local.get $nIn)) (i32.const 2))))
        (local.set $dyRow (i32.add (local.get $dy) (i32.mul (local.get $b) (local.get $outBytes))))
        ;; the bias gradient: gBias += 1·dy
        (call $axpy (local.get $gBias) (local.get $dyRow) (local.get $nOut) (f64.const 1))
        ;; the weight gradient, row i of g: g[i] += x[i]·dy
        (local.set $i (i32.const 0))
        (block $gradsDone
          (loop $grads
            (br_if $gradsDone (i32.ge_u (local.get $i) (local.get $nIn)))
            (call $axpy (i32.add (local.get $g) (i32.mul (local.get $i) (local.get $outBytes))) (local.get $dyRow) (local.get $nOut)
              (f64.promote_f32 (f32.load (i32.add (local.get $xRow) (i32.shl (local.get $i) (i32.const 2))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $grads)))
        (if (local.get $needDx)
          (then
            (local.set $i (i32.const 0))
            ;; two inputs at a time
            (block $pairsDone
              (loop $pairs
                (br_if $pairsDone (i32.gt_u (i32.add (local.get $i) (i32.const 2)) (local.get $nIn)))
                (local.set $wRow (i32.add (local.get $w) (i32.mul (local.get $i) (local.get $outBytes))))
                (local.set $sums (f64x2.splat (f64.const 0)))
                (local.set $o (i32.const 0))
                (block $outsDone
                  (loop $outs
                    (br_if $outsDone (i32.ge_u (local.get $o) (local.get $outBytes)))
                    (local.set $sums
                      (f64x2.add (local.get $sums)
                        (f64x2.mul
                          (f64x2.replace_lane 1
                            (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $wRow) (local.get $o)))))
                            (f64.promote_f32 (f32.load (i32.add (i32.add (local.get $wRow) (local.get $outBytes)) (local.get $o)))))
                          (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $dyRow) (local.get $o))))))))
                    (local.set $o (i32.add (local.get $o) (i32.const 4)))
                    (br $outs)))
                ;; dx = sum · (1 − x·x), x the hidden layer's output (tanh' = 1 − tanh²)
                (local.set $xx
                  (f64x2.replace_lane 1
                    (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $xRow) (i32.shl (local.get $i) (i32.const 2))))))
                    (f64.promote_f32 (f32.load offset=4 (i32.add (local.get $xRow) (i32.shl (local.get $i) (i32.const 2)))))))
                (local.set $sums
                  (f64x2.mul (local.get $sums) (f64x2.sub (f64x2.splat (f64.const 1)) (f64x2.mul (local.get $xx) (local.get $xx)))))
                (f32.store (i32.add (local.get $dxRow) (i32.shl (local.get $i) (i32.const 2)))
                  (f32.demote_f64 (f64x2.extract_lane 0 (local.get $sums))))
                (f32.store offset=4 (i32.add (local.get $dxRow) (i32.shl (local.get $i) (i32.const 2)))
                  (f32.demote_f64 (f64x2.extract_lane 1 (local.get $sums))))
                (local.set $i (i32.add (local.get $i) (i32.const 2)))
                (br $pairs)))
            ;; an odd last input
            (if (i32.lt_u (local.get $i) (local.get $nIn))
              (then
                (local.set $wRow (i32.add (local.get $w) (i32.mul (local.get $i) (local.get $outBytes))))
                (local.set $sum (f64.const 0))
                (local.set $o (i32.const 0))
                (block $lastDone
                  (loop $last
                    (br_if $lastDone (i32.ge_u (local.get $o) (local.get $outBytes)))
                    (local.set $sum
                      (f64.add (local.get $sum)
                        (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $wRow) (local.get $o))))
                                 (f64.promote_f32 (f32.load (i32.add (local.get $dyRow) (local.get $o)))))))
                    (local.set $o (i32.add (local.get $o) (i32.const 4)))
                    (br $last)))
                (local.set $xi (f64.promote_f32 (f32.load (i32.add (local.get $xRow) (i32.shl (local.get $i) (i32.const 2))))))
                (f32.store (i32.add (local.get $dxRow) (i32.shl (local.get $i) (i32.const 2)))
                  (f32.demote_f64 (f64.mul (local.get $sum) (f64.sub (f64.const 1) (f64.mul (local.get $xi) (local.get $xi))))))))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows))))

  ;; adam(params, grads, m, v, n, lr, beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon): one Adam step
  ;; (lr already bias-corrected), as mlp.ts's loop, two parameters at a time:
  ;;   m ← float32(β1·m + (1−β1)·g);  v ← float32(β2·v + ((1−β2)·g)·g);  p ← float32(p − (lr·m)/(√v + ε))
  (func (export "adam") (param $params i32) (param $grads i32) (param $m i32) (param $v i32) (param $n i32)
    (param $lr f64) (param $beta1 f64) (param $oneMinusBeta1 f64) (param $beta2 f64) (param $oneMinusBeta2 f64)
    (param $epsilon f64)
    (local $k i32) (local $end i32) (local $g v128) (local $mv v128) (local $vv v128)
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 2)))
    (block $pairsDone
      (loop $pairs
        (br_if $pairsDone (i32.ge_u (local.get $k) (local.get $end)))
        (local.set $g (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $grads) (local.get $k)))))
        (local.set $mv
          (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero
            (f64x2.add
              (f64x2.mul (f64x2.splat (local.get $beta1)) (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $m) (local.get $k)))))
              (f64x2.mul (f64x2.splat (local.get $oneMinusBeta1)) (local.get $g))))))
        (local.set $vv
          (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero
            (f64x2.add
              (f64x2.mul (f64x2.splat (local.get $beta2)) (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $v) (local.get $k)))))
              (f64x2.mul (f64x2.mul (f64x2.splat (local.get $oneMinusBeta2)) (local.get $g)) (local.get $g))))))
        (v128.store64_lane 0 (i32.add (local.get $m) (local.get $k)) (f32x4.demote_f64x2_zero (local.get $mv)))
        (v128.store64_lane 0 (i32.add (local.get $v) (local.get $k)) (f32x4.demote_f64x2_zero (local.get $vv)))
        (v128.store64_lane 0 (i32.add (local.get $params) (local.get $k))
          (f32x4.demote_f64x2_zero
            (f64x2.sub
              (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $params) (local.get $k))))
              (f64x2.div (f64x2.mul (f64x2.splat (local.get $lr)) (local.get $mv))
                         (f64x2.add (f64x2.sqrt (local.get $vv)) (f64x2.splat (local.get $epsilon)))))))
        (local.set $k (i32.add (local.get $k) (i32.const 8)))
        (br $pairs)))
    ;; an odd last parameter
    (if (i32.lt_u (local.get $k) (i32.shl (local.get $n) (i32.const 2)))
      (then
        (local.set $g (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $grads) (local.get $k))))))
        (local.set $mv (f64x2.splat (f64.promote_f32 (f32.demote_f64
          (f64.add (f64.mul (local.get $beta1) (f64.promote_f32 (f32.load (i32.add (local.get $m) (local.get $k)))))
                   (f64.mul (local.get $oneMinusBeta1) (f64x2.extract_lane 0 (local.get $g))))))))
        (local.set $vv (f64x2.splat (f64.promote_f32 (f32.demote_f64
          (f64.add (f64.mul (local.get $beta2) (f64.promote_f32 (f32.load (i32.add (local.get $v) (local.get $k)))))
                   (f64.mul (f64.mul (local.get $oneMinusBeta2) (f64x2.extract_lane 0 (local.get $g))) (f64x2.extract_lane 0 (local.get $g))))))))
        (f32.store (i32.add (local.get $m) (local.get $k)) (f32.demote_f64 (f64x2.extract_lane 0 (local.get $mv))))
        (f32.store (i32.add (local.get $v) (local.get $k)) (f32.demote_f64 (f64x2.extract_lane 0 (local.get $vv))))
        (f32.store (i32.add (local.get $params) (local.get $k))
          (f32.demote_f64
            (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $params) (local.get $k))))
                     (f64.div (f64.mul (local.get $lr) (f64x2.extract_lane 0 (local.get $mv)))
                              (f64.add (f64.sqrt (f64x2.extract_lane 0 (local.get $vv))) (local.get $epsilon))))))))))
