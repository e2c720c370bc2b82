;; The GBDT fit's inner loops as WebAssembly kernels (packages/ml/src/gbdt/kernels.ts loads this file,
;; assembles it with wabt and checks it with WebAssembly.validate). They work on data in one shared
;; WebAssembly memory (`HistogramArena`) that both threads of a fit see: histogram building (`build`),
;; parent − child and partial merges (`combine`, f64x2), split search (`pair`, f64x2: two features
;; at once, one per lane) and row partitioning (`partition`). Each gives exactly the numbers
;; histogram.ts's and grow.ts's JavaScript gives: the same float64 operations in the same order, so
;; a model fitted with the kernels is the same bytes as one fitted without (kernels.test.ts,
;; split-kernel tests). Pointers are byte addresses into the memory.
;;
;; Scratch block of a thread (float64 slots, byte offset = slot × 8): 0 total gradient, 1 total
;; hessian, 2 lambda, 3 min child weight, 4 gradient scale, 5 hessian scale, 6 shift, 7 1/shift,
;; 8 start score, 9/10 screen factors above/below, 11 min data, 28 total count; lane pairs (feature
;; A, feature B): 12 last bin, 14 missing sum, 16 missing gradient, 18 missing hessian, 30 missing
;; count; results: 20 best score, 22 its bin, 24 missing went left, 26 packed sum going left.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; pair(histA, histB, scratch, lastBin, missing): sweeps bins 1..lastBin−1 of two features'
  ;; histograms (their 256 float64 sums) with the node's totals and parameters from scratch; per
  ;; lane, keeps the best children score above START_SCORE (first best on ties), its bin, whether
  ;; missing values went left, and the packed sum going left. A bin holds rows when its sum is
  ;; non-zero. `missing` = 0 skips the missing-left sweep (no lane has missing values). A candidate
  ;; passes when (gl·gl)·c + (gr·gr)·a ≥ screen·(a·c) with a = hl + λ, c = hr + λ (screen = best ·
  ;; (1 ∓ 1e−9), as searchSplits) and both children's hessians reach min child weight.
  (func $pair (export "pair") (param $histA i32) (param $histB i32) (param $scratch i32) (param $lastBin i32)
    (param $missing i32)
    (local $off i32) (local $end i32) (local $countOff i32) (local $totG v128) (local $totH v128)
    (local $lambda v128) (local $minChild v128) (local $gs v128) (local $hs v128) (local $shift v128)
    (local $inv v128) (local $above v128) (local $below v128) (local $one v128) (local $zero v128)
    (local $lanes v128) (local $ms v128) (local $mg v128) (local $mh v128) (local $hasMissing v128)
    (local $sl v128) (local $bin v128) (local $best v128) (local $screen v128) (local $bestBin v128)
    (local $bestLeft v128) (local $bestSum v128) (local $v v128) (local $nonEmpty v128) (local $hi v128)
    (local $gl v128) (local $hl v128) (local $lg v128) (local $lh v128) (local $rg v128) (local $rh v128)
    (local $a v128) (local $c v128) (local $pass v128) (local $children v128) (local $better v128)
    (local $minData v128) (local $totalN v128) (local $mn v128) (local $n v128) (local $nl v128)
    (local.set $totG (f64x2.splat (f64.load (local.get $scratch))))
    (local.set $totH (f64x2.splat (f64.load offset=8 (local.get $scratch))))
    (local.set $lambda (f64x2.splat (f64.load offset=16 (local.get $scratch))))
    (local.set $minChild (f64x2.splat (f64.load offset=24 (local.get $scratch))))
    (local.set $gs (f64x2.splat (f64.load offset=32 (local.get $scratch))))
    (local.set $hs (f64x2.splat (f64.load offset=40 (local.get $scratch))))
    (local.set $shift (f64x2.splat (f64.load offset=48 (local.get $scratch))))
    (local.set $inv (f64x2.splat (f64.load offset=56 (local.get $scratch))))
    (local.set $above (f64x2.splat (f64.load offset=72 (local.get $scratch))))
    (local.set $below (f64x2.splat (f64.load offset=80 (local.get $scratch))))
    (local.set $one (f64x2.splat (f64.const 1)))
    (local.set $zero (f64x2.splat (f64.const 0)))
    (local.set $lanes (v128.load offset=96 (local.get $scratch)))
    (local.set $ms (v128.load offset=112 (local.get $scratch)))
    (local.set $mg (v128.load offset=128 (local.get $scratch)))
    (local.set $mh (v128.load offset=144 (local.get $scratch)))
    (local.set $hasMissing (f64x2.ne (local.get $ms) (local.get $zero)))
    (local.set $sl (local.get $zero))
    (local.set $bin (local.get $one))
    (local.set $best (f64x2.splat (f64.load offset=64 (local.get $scratch))))
    (local.set $screen
      (f64x2.mul
        (v128.bitselect (local.get $above) (local.get $below) (f64x2.gt (local.get $best) (local.get $zero)))
        (local.get $best)))
    (local.set $bestBin (local.get $zero))
    (local.set $bestLeft (local.get $zero))
    (local.set $bestSum (local.get $zero))
    (local.set $off (i32.const 8))
    (local.set $end (i32.shl (local.get $lastBin) (i32.const 3)))
    (block $exit1
      (loop $next2
        (br_if $exit1 (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $v
          (f64x2.replace_lane 1
            (f64x2.splat (f64.load (i32.add (local.get $histA) (local.get $off))))
            (f64.load (i32.add (local.get $histB) (local.get $off)))))
        (local.set $nonEmpty
          (v128.and
            (f64x2.ne (local.get $v) (local.get $zero))
            (f64x2.lt (local.get $bin) (local.get $lanes))))
        (local.set $sl (f64x2.add (local.get $sl) (local.get $v)))
        (local.set $hi (f64x2.floor (f64x2.mul (local.get $sl) (local.get $inv))))
        (local.set $gl (f64x2.mul (local.get $hi) (local.get $gs)))
        (local.set $hl
          (f64x2.mul
            (f64x2.sub (local.get $sl) (f64x2.mul (local.get $hi) (local.get $shift)))
            (local.get $hs)))
        (local.set $rh (f64x2.sub (local.get $totH) (local.get $hl)))
        (local.set $rg (f64x2.sub (local.get $totG) (local.get $gl)))
        (local.set $a (f64x2.add (local.get $hl) (local.get $lambda)))
        (local.set $c (f64x2.add (local.get $rh) (local.get $lambda)))
        (local.set $pass
          (v128.and
            (v128.and
              (v128.and
                (f64x2.ge
                  (f64x2.add
                    (f64x2.mul (f64x2.mul (local.get $gl) (local.get $gl)) (local.get $c))
                    (f64x2.mul (f64x2.mul (local.get $rg) (local.get $rg)) (local.get $a)))
                  (f64x2.mul (local.get $screen) (f64x2.mul (local.get $a) (local.get $c))))
                (local.get $nonEmpty))
              (f64x2.ge (local.get $hl) (local.get $minChild)))
            (f64x2.ge (local.get $rh) (local.get $minChild))))
        (if $if3
          (v128.any_true (local.get $pass))
          (then
            (local.set $children
              (f64x2.add
                (f64x2.div (f64x2.mul (local.get $gl) (local.get $gl)) (local.get $a))
                (f64x2.div (f64x2.mul (local.get $rg) (local.get $rg)) (local.get $c))))
            (local.set $better
              (v128.and (f64x2.gt (local.get $children) (local.get $best)) (local.get $pass)))
            (local.set $best (v128.bitselect (local.get $children) (local.get $best) (local.get $better)))
            (local.set $screen
              (f64x2.mul
                (v128.bitselect
                  (local.get $above)
                  (local.get $below)
                  (f64x2.gt (local.get $best) (local.get $zero)))
                (local.get $best)))
            (local.set $bestBin (v128.bitselect (local.get $bin) (local.get $bestBin) (local.get $better)))
            (local.set $bestLeft (v128.bitselect (local.get $zero) (local.get $bestLeft) (local.get $better)))
            (local.set $bestSum (v128.bitselect (local.get $sl) (local.get $bestSum) (local.get $better)))))
        (if $if3
          (local.get $missing)
          (then
            (local.set $lg (f64x2.add (local.get $gl) (local.get $mg)))
            (local.set $lh (f64x2.add (local.get $hl) (local.get $mh)))
            (local.set $rh (f64x2.sub (local.get $totH) (local.get $lh)))
            (local.set $rg (f64x2.sub (local.get $totG) (local.get $lg)))
            (local.set $a (f64x2.add (local.get $lh) (local.get $lambda)))
            (local.set $c (f64x2.add (local.get $rh) (local.get $lambda)))
            (local.set $pass
              (v128.and
                (v128.and
                  (v128.and
                    (f64x2.ge
                      (f64x2.add
                        (f64x2.mul (f64x2.mul (local.get $lg) (local.get $lg)) (local.get $c))
                        (f64x2.mul (f64x2.mul (local.get $rg) (local.get $rg)) (local.get $a)))
                      (f64x2.mul (local.get $screen) (f64x2.mul (local.get $a) (local.get $c))))
                    (v128.and (local.get $nonEmpty) (local.get $hasMissing)))
                  (f64x2.ge (local.get $lh) (local.get $minChild)))
                (f64x2.ge (local.get $rh) (local.get $minChild))))
            (if $if4
              (v128.any_true (local.get $pass))
              (then
                (local.set $children
                  (f64x2.add
                    (f64x2.div (f64x2.mul (local.get $lg) (local.get $lg)) (local.get $a))
                    (f64x2.div (f64x2.mul (local.get $rg) (local.get $rg)) (local.get $c))))
                (local.set $better
                  (v128.and (f64x2.gt (local.get $children) (local.get $best)) (local.get $pass)))
                (local.set $best (v128.bitselect (local.get $children) (local.get $best) (local.get $better)))
                (local.set $screen
                  (f64x2.mul
                    (v128.bitselect
                      (local.get $above)
                      (local.get $below)
                      (f64x2.gt (local.get $best) (local.get $zero)))
                    (local.get $best)))
                (local.set $bestBin
                  (v128.bitselect (local.get $bin) (local.get $bestBin) (local.get $better)))
                (local.set $bestLeft
                  (v128.bitselect (local.get $one) (local.get $bestLeft) (local.get $better)))
                (local.set $bestSum
                  (v128.bitselect
                    (f64x2.add (local.get $sl) (local.get $ms))
                    (local.get $bestSum)
                    (local.get $better)))))))
        (local.set $bin (f64x2.add (local.get $bin) (local.get $one)))
        (local.set $off (i32.add (local.get $off) (i32.const 8)))
        (br $next2)))
    (v128.store offset=160 (local.get $scratch) (local.get $best))
    (v128.store offset=176 (local.get $scratch) (local.get $bestBin))
    (v128.store offset=192 (local.get $scratch) (local.get $bestLeft))
    (v128.store offset=208 (local.get $scratch) (local.get $bestSum)))

  ;; pairCounted(…, countA, countB): pair with the features' row counts (256 int32 each): a bin
  ;; holds rows when its sum or count is non-zero, and both children must keep MIN_DATA rows, as
  ;; searchSplits's sweep with counts.
  (func $pairCounted (export "pairCounted") (param $histA i32) (param $histB i32) (param $scratch i32)
    (param $lastBin i32) (param $missing i32) (param $countA i32) (param $countB i32)
    (local $off i32) (local $end i32) (local $countOff i32) (local $totG v128) (local $totH v128)
    (local $lambda v128) (local $minChild v128) (local $gs v128) (local $hs v128) (local $shift v128)
    (local $inv v128) (local $above v128) (local $below v128) (local $one v128) (local $zero v128)
    (local $lanes v128) (local $ms v128) (local $mg v128) (local $mh v128) (local $hasMissing v128)
    (local $sl v128) (local $bin v128) (local $best v128) (local $screen v128) (local $bestBin v128)
    (local $bestLeft v128) (local $bestSum v128) (local $v v128) (local $nonEmpty v128) (local $hi v128)
    (local $gl v128) (local $hl v128) (local $lg v128) (local $lh v128) (local $rg v128) (local $rh v128)
    (local $a v128) (local $c v128) (local $pass v128) (local $children v128) (local $better v128)
    (local $minData v128) (local $totalN v128) (local $mn v128) (local $n v128) (local $nl v128)
    (local.set $totG (f64x2.splat (f64.load (local.get $scratch))))
    (local.set $totH (f64x2.splat (f64.load offset=8 (local.get $scratch))))
    (local.set $lambda (f64x2.splat (f64.load offset=16 (local.get $scratch))))
    (local.set $minChild (f64x2.splat (f64.load offset=24 (local.get $scratch))))
    (local.set $gs (f64x2.splat (f64.load offset=32 (local.get $scratch))))
    (local.set $hs (f64x2.splat (f64.load offset=40 (local.get $scratch))))
    (local.set $shift (f64x2.splat (f64.load offset=48 (local.get $scratch))))
    (local.set $inv (f64x2.splat (f64.load offset=56 (local.get $scratch))))
    (local.set $above (f64x2.splat (f64.load offset=72 (local.get $scratch))))
    (local.set $below (f64x2.splat (f64.load offset=80 (local.get $scratch))))
    (local.set $one (f64x2.splat (f64.const 1)))
    (local.set $zero (f64x2.splat (f64.const 0)))
    (local.set $lanes (v128.load offset=96 (local.get $scratch)))
    (local.set $ms (v128.load offset=112 (local.get $scratch)))
    (local.set $mg (v128.load offset=128 (local.get $scratch)))
    (local.set $mh (v128.load offset=144 (local.get $scratch)))
    (local.set $minData (f64x2.splat (f64.load offset=88 (local.get $scratch))))
    (local.set $totalN (f64x2.splat (f64.load offset=224 (local.get $scratch))))
    (local.set $mn (v128.load offset=240 (local.get $scratch)))
    (local.set $hasMissing (f64x2.gt (local.get $mn) (local.get $zero)))
    (local.set $nl (local.get $zero))
    (local.set $countOff (i32.const 4))
    (local.set $sl (local.get $zero))
    (local.set $bin (local.get $one))
    (local.set $best (f64x2.splat (f64.load offset=64 (local.get $scratch))))
    (local.set $screen
      (f64x2.mul
        (v128.bitselect (local.get $above) (local.get $below) (f64x2.gt (local.get $best) (local.get $zero)))
        (local.get $best)))
    (local.set $bestBin (local.get $zero))
    (local.set $bestLeft (local.get $zero))
    (local.set $bestSum (local.get $zero))
    (local.set $off (i32.const 8))
    (local.set $end (i32.shl (local.get $lastBin) (i32.const 3)))
    (block $exit1
      (loop $next2
        (br_if $exit1 (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $v
          (f64x2.replace_lane 1
            (f64x2.splat (f64.load (i32.add (local.get $histA) (local.get $off))))
            (f64.load (i32.add (local.get $histB) (local.get $off)))))
        (local.set $n
          (f64x2.convert_low_i32x4_s
            (i32x4.replace_lane 1
              (i32x4.splat (i32.load (i32.add (local.get $countA) (local.get $countOff))))
              (i32.load (i32.add (local.get $countB) (local.get $countOff))))))
        (local.set $nonEmpty
          (v128.and
            (v128.or (f64x2.ne (local.get $v) (local.get $zero)) (f64x2.ne (local.get $n) (local.get $zero)))
            (f64x2.lt (local.get $bin) (local.get $lanes))))
        (local.set $nl (f64x2.add (local.get $nl) (local.get $n)))
        (local.set $sl (f64x2.add (local.get $sl) (local.get $v)))
        (local.set $hi (f64x2.floor (f64x2.mul (local.get $sl) (local.get $inv))))
        (local.set $gl (f64x2.mul (local.get $hi) (local.get $gs)))
        (local.set $hl
          (f64x2.mul
            (f64x2.sub (local.get $sl) (f64x2.mul (local.get $hi) (local.get $shift)))
            (local.get $hs)))
        (local.set $rh (f64x2.sub (local.get $totH) (local.get $hl)))
        (local.set $rg (f64x2.sub (local.get $totG) (local.get $gl)))
        (local.set $a (f64x2.add (local.get $hl) (local.get $lambda)))
        (local.set $c (f64x2.add (local.get $rh) (local.get $lambda)))
        (local.set $pass
          (v128.and
            (v128.and
              (v128.and
                (f64x2.ge
                  (f64x2.add
                    (f64x2.mul (f64x2.mul (local.get $gl) (local.get $gl)) (local.get $c))
                    (f64x2.mul (f64x2.mul (local.get $rg) (local.get $rg)) (local.get $a)))
                  (f64x2.mul (local.get $screen) (f64x2.mul (local.get $a) (local.get $c))))
                (v128.and
                  (v128.and (local.get $nonEmpty) (f64x2.ge (local.get $nl) (local.get $minData)))
                  (f64x2.ge (f64x2.sub (local.get $totalN) (local.get $nl)) (local.get $minData))))
              (f64x2.ge (local.get $hl) (local.get $minChild)))
            (f64x2.ge (local.get $rh) (local.get $minChild))))
        (if $if3
          (v128.any_true (local.get $pass))
          (then
            (local.set $children
              (f64x2.add
                (f64x2.div (f64x2.mul (local.get $gl) (local.get $gl)) (local.get $a))
                (f64x2.div (f64x2.mul (local.get $rg) (local.get $rg)) (local.get $c))))
            (local.set $better
              (v128.and (f64x2.gt (local.get $children) (local.get $best)) (local.get $pass)))
            (local.set $best (v128.bitselect (local.get $children) (local.get $best) (local.get $better)))
            (local.set $screen
              (f64x2.mul
                (v128.bitselect
                  (local.get $above)
                  (local.get $below)
                  (f64x2.gt (local.get $best) (local.get $zero)))
                (local.get $best)))
            (local.set $bestBin (v128.bitselect (local.get $bin) (local.get $bestBin) (local.get $better)))
            (local.set $bestLeft (v128.bitselect (local.get $zero) (local.get $bestLeft) (local.get $better)))
            (local.set $bestSum (v128.bitselect (local.get $sl) (local.get $bestSum) (local.get $better)))))
        (if $if3
          (local.get $missing)
          (then
            (local.set $lg (f64x2.add (local.get $gl) (local.get $mg)))
            (local.set $lh (f64x2.add (local.get $hl) (local.get $mh)))
            (local.set $rh (f64x2.sub (local.get $totH) (local.get $lh)))
            (local.set $rg (f64x2.sub (local.get $totG) (local.get $lg)))
            (local.set $a (f64x2.add (local.get $lh) (local.get $lambda)))
            (local.set $c (f64x2.add (local.get $rh) (local.get $lambda)))
            (local.set $pass
              (v128.and
                (v128.and
                  (v128.and
                    (f64x2.ge
                      (f64x2.add
                        (f64x2.mul (f64x2.mul (local.get $lg) (local.get $lg)) (local.get $c))
                        (f64x2.mul (f64x2.mul (local.get $rg) (local.get $rg)) (local.get $a)))
                      (f64x2.mul (local.get $screen) (f64x2.mul (local.get $a) (local.get $c))))
                    (v128.and
                      (v128.and
                        (v128.and (local.get $nonEmpty) (local.get $hasMissing))
                        (f64x2.ge (f64x2.add (local.get $nl) (local.get $mn)) (local.get $minData)))
                      (f64x2.ge
                        (f64x2.sub (f64x2.sub (local.get $totalN) (local.get $nl)) (local.get $mn))
                        (local.get $minData))))
                  (f64x2.ge (local.get $lh) (local.get $minChild)))
                (f64x2.ge (local.get $rh) (local.get $minChild))))
            (if $if4
              (v128.any_true (local.get $pass))
              (then
                (local.set $children
                  (f64x2.add
                    (f64x2.div (f64x2.mul (local.get $lg) (local.get $lg)) (local.get $a))
                    (f64x2.div (f64x2.mul (local.get $rg) (local.get $rg)) (local.get $c))))
                (local.set $better
                  (v128.and (f64x2.gt (local.get $children) (local.get $best)) (local.get $pass)))
                (local.set $best (v128.bitselect (local.get $children) (local.get $best) (local.get $better)))
                (local.set $screen
                  (f64x2.mul
                    (v128.bitselect
                      (local.get $above)
                      (local.get $below)
                      (f64x2.gt (local.get $best) (local.get $zero)))
                    (local.get $best)))
                (local.set $bestBin
                  (v128.bitselect (local.get $bin) (local.get $bestBin) (local.get $better)))
                (local.set $bestLeft
                  (v128.bitselect (local.get $one) (local.get $bestLeft) (local.get $better)))
                (local.set $bestSum
                  (v128.bitselect
                    (f64x2.add (local.get $sl) (local.get $ms))
                    (local.get $bestSum)
                    (local.get $better)))))))
        (local.set $bin (f64x2.add (local.get $bin) (local.get $one)))
        (local.set $off (i32.add (local.get $off) (i32.const 8)))
        (local.set $countOff (i32.add (local.get $countOff) (i32.const 4)))
        (br $next2)))
    (v128.store offset=160 (local.get $scratch) (local.get $best))
    (v128.store offset=176 (local.get $scratch) (local.get $bestBin))
    (v128.store offset=192 (local.get $scratch) (local.get $bestLeft))
    (v128.store offset=208 (local.get $scratch) (local.get $bestSum)))

  ;; build(hist, bins, stride, order, count, packed, words): for each of `count` rows (row numbers
  ;; from `order`), adds its packed value to `words` × 4 features' histogram bins, reading four
  ;; one-byte bins per 32-bit load from the row's bins at `bins` + row × stride; feature k of the
  ;; range adds to hist + k × 2048 bytes. As buildHistogram's word loop.
  (func $build (export "build") (param $hist i32) (param $bins i32) (param $stride i32) (param $order i32)
    (param $count i32) (param $packed i32) (param $words i32)
    (local $i i32) (local $row i32) (local $at i32) (local $w i32) (local $o i32) (local $x i32)
    (local $a i32) (local $oc i32) (local $v f64)
    (local.set $i (i32.const 0))
    (block $exit1
      (loop $next2
        (br_if $exit1 (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $row (i32.load (i32.add (local.get $order) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $v (f64.load (i32.add (local.get $packed) (i32.shl (local.get $row) (i32.const 3)))))
        (local.set $at (i32.add (local.get $bins) (i32.mul (local.get $row) (local.get $stride))))
        (local.set $o (local.get $hist))
        (local.set $w (i32.const 0))
        (block $exit3
          (loop $next4
            (br_if $exit3 (i32.ge_u (local.get $w) (local.get $words)))
            (local.set $x (i32.load (local.get $at)))
            (f64.store
              (local.tee $a
                (i32.add (local.get $o) (i32.shl (i32.and (local.get $x) (i32.const 255)) (i32.const 3))))
              (f64.add (f64.load (local.get $a)) (local.get $v)))
            (f64.store
              (local.tee $a
                (i32.add
                  (i32.add (local.get $o) (i32.const 2048))
                  (i32.shl (i32.and (i32.shr_u (local.get $x) (i32.const 8)) (i32.const 255)) (i32.const 3))))
              (f64.add (f64.load (local.get $a)) (local.get $v)))
            (f64.store
              (local.tee $a
                (i32.add
                  (i32.add (local.get $o) (i32.const 4096))
                  (i32.shl (i32.and (i32.shr_u (local.get $x) (i32.const 16)) (i32.const 255)) (i32.const 3))))
              (f64.add (f64.load (local.get $a)) (local.get $v)))
            (f64.store
              (local.tee $a
                (i32.add
                  (i32.add (local.get $o) (i32.const 6144))
                  (i32.shl (i32.shr_u (local.get $x) (i32.const 24)) (i32.const 3))))
              (f64.add (f64.load (local.get $a)) (local.get $v)))
            (local.set $at (i32.add (local.get $at) (i32.const 4)))
            (local.set $o (i32.add (local.get $o) (i32.const 8192)))
            (local.set $w (i32.add (local.get $w) (i32.const 1)))
            (br $next4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next2))))

  ;; buildCounted(…, counts): build, and the row count beside each sum (int32 bins: half the
  ;; byte offsets).
  (func $buildCounted (export "buildCounted") (param $hist i32) (param $bins i32) (param $stride i32)
    (param $order i32) (param $count i32) (param $packed i32) (param $words i32) (param $counts i32)
    (local $i i32) (local $row i32) (local $at i32) (local $w i32) (local $o i32) (local $x i32)
    (local $a i32) (local $oc i32) (local $v f64)
    (local.set $i (i32.const 0))
    (block $exit1
      (loop $next2
        (br_if $exit1 (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $row (i32.load (i32.add (local.get $order) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $v (f64.load (i32.add (local.get $packed) (i32.shl (local.get $row) (i32.const 3)))))
        (local.set $at (i32.add (local.get $bins) (i32.mul (local.get $row) (local.get $stride))))
        (local.set $o (local.get $hist))
        (local.set $oc (local.get $counts))
        (local.set $w (i32.const 0))
        (block $exit3
          (loop $next4
            (br_if $exit3 (i32.ge_u (local.get $w) (local.get $words)))
            (local.set $x (i32.load (local.get $at)))
            (f64.store
              (local.tee $a
                (i32.add (local.get $o) (i32.shl (i32.and (local.get $x) (i32.const 255)) (i32.const 3))))
              (f64.add (f64.load (local.get $a)) (local.get $v)))
            (i32.store
              (local.tee $a
                (i32.add (local.get $oc) (i32.shl (i32.and (local.get $x) (i32.const 255)) (i32.const 2))))
              (i32.add (i32.load (local.get $a)) (i32.const 1)))
            (f64.store
              (local.tee $a
                (i32.add
                  (i32.add (local.get $o) (i32.const 2048))
                  (i32.shl (i32.and (i32.shr_u (local.get $x) (i32.const 8)) (i32.const 255)) (i32.const 3))))
              (f64.add (f64.load (local.get $a)) (local.get $v)))
            (i32.store
              (local.tee $a
                (i32.add
                  (i32.add (local.get $oc) (i32.const 1024))
                  (i32.shl (i32.and (i32.shr_u (local.get $x) (i32.const 8)) (i32.const 255)) (i32.const 2))))
              (i32.add (i32.load (local.get $a)) (i32.const 1)))
            (f64.store
              (local.tee $a
                (i32.add
                  (i32.add (local.get $o) (i32.const 4096))
                  (i32.shl (i32.and (i32.shr_u (local.get $x) (i32.const 16)) (i32.const 255)) (i32.const 3))))
              (f64.add (f64.load (local.get $a)) (local.get $v)))
            (i32.store
              (local.tee $a
                (i32.add
                  (i32.add (local.get $oc) (i32.const 2048))
                  (i32.shl (i32.and (i32.shr_u (local.get $x) (i32.const 16)) (i32.const 255)) (i32.const 2))))
              (i32.add (i32.load (local.get $a)) (i32.const 1)))
            (f64.store
              (local.tee $a
                (i32.add
                  (i32.add (local.get $o) (i32.const 6144))
                  (i32.shl (i32.shr_u (local.get $x) (i32.const 24)) (i32.const 3))))
              (f64.add (f64.load (local.get $a)) (local.get $v)))
            (i32.store
              (local.tee $a
                (i32.add
                  (i32.add (local.get $oc) (i32.const 3072))
                  (i32.shl (i32.shr_u (local.get $x) (i32.const 24)) (i32.const 2))))
              (i32.add (i32.load (local.get $a)) (i32.const 1)))
            (local.set $at (i32.add (local.get $at) (i32.const 4)))
            (local.set $o (i32.add (local.get $o) (i32.const 8192)))
            (local.set $oc (i32.add (local.get $oc) (i32.const 4096)))
            (local.set $w (i32.add (local.get $w) (i32.const 1)))
            (br $next4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next2))))

  ;; combine(into, from, bytes, subtract): into ± from over `bytes` bytes of float64 (a multiple
  ;; of 16), two at a time.
  (func $combine (export "combine") (param $into i32) (param $from i32) (param $bytes i32)
    (param $subtract i32)
    (local $at i32)
    (if $if1
      (local.get $subtract)
      (then
        (local.set $at (i32.const 0))
        (block $exit2
          (loop $next3
            (br_if $exit2 (i32.ge_u (local.get $at) (local.get $bytes)))
            (v128.store
              (i32.add (local.get $into) (local.get $at))
              (f64x2.sub
                (v128.load (i32.add (local.get $into) (local.get $at)))
                (v128.load (i32.add (local.get $from) (local.get $at)))))
            (local.set $at (i32.add (local.get $at) (i32.const 16)))
            (br $next3))))
      (else
        (local.set $at (i32.const 0))
        (block $exit2
          (loop $next3
            (br_if $exit2 (i32.ge_u (local.get $at) (local.get $bytes)))
            (v128.store
              (i32.add (local.get $into) (local.get $at))
              (f64x2.add
                (v128.load (i32.add (local.get $into) (local.get $at)))
                (v128.load (i32.add (local.get $from) (local.get $at)))))
            (local.set $at (i32.add (local.get $at) (i32.const 16)))
            (br $next3))))))

  ;; combineCounts(into, from, bytes, subtract): the same over int32 row counts, four at a time.
  (func $combineCounts (export "combineCounts") (param $into i32) (param $from i32) (param $bytes i32)
    (param $subtract i32)
    (local $at i32)
    (if $if1
      (local.get $subtract)
      (then
        (local.set $at (i32.const 0))
        (block $exit2
          (loop $next3
            (br_if $exit2 (i32.ge_u (local.get $at) (local.get $bytes)))
            (v128.store
              (i32.add (local.get $into) (local.get $at))
              (i32x4.sub
                (v128.load (i32.add (local.get $into) (local.get $at)))
                (v128.load (i32.add (local.get $from) (local.get $at)))))
            (local.set $at (i32.add (local.get $at) (i32.const 16)))
            (br $next3))))
      (else
        (local.set $at (i32.const 0))
        (block $exit2
          (loop $next3
            (br_if $exit2 (i32.ge_u (local.get $at) (local.get $bytes)))
            (v128.store
              (i32.add (local.get $into) (local.get $at))
              (i32x4.add
                (v128.load (i32.add (local.get $into) (local.get $at)))
                (v128.load (i32.add (local.get $from) (local.get $at)))))
            (local.set $at (i32.add (local.get $at) (i32.const 16)))
            (br $next3))))))

  ;; partition(order, count, column, bin, defaultLeft, grad, hess, packed, scratch, out): grow.ts's
  ;; partition of a node's rows (`count` row numbers at `order`) by one feature's column of bins —
  ;; rows with bin ≤ `bin` left, missing (bin 0) rows to the default side — stable, left rows first,
  ;; in place (right rows through `scratch`); the left rows' gradient, hessian and packed sums
  ;; accumulated in the same order and with the same float64 operations as there (m = 0 or 1 per
  ;; row, sums += value × m). Writes the left count and the three sums to out[0..4).
  (func $partition (export "partition") (param $order i32) (param $count i32) (param $column i32)
    (param $bin i32) (param $defaultLeft i32) (param $grad i32) (param $hess i32) (param $packed i32)
    (param $scratch i32) (param $out i32)
    (local $at i32) (local $end i32) (local $l i32) (local $r i32) (local $row i32) (local $b i32)
    (local $m i32) (local $g f64) (local $h f64) (local $sum f64) (local $mf f64)
    (local.set $end
      (i32.add (local.tee $l (local.tee $at (local.get $order))) (i32.shl (local.get $count) (i32.const 2))))
    (local.set $r (local.get $scratch))
    (block $exit1
      (loop $next2
        (br_if $exit1 (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $row (i32.load (local.get $at)))
        (local.set $b (i32.load8_u (i32.add (local.get $column) (local.get $row))))
        (local.set $m
          (select
            (local.get $defaultLeft)
            (i32.le_u (local.get $b) (local.get $bin))
            (i32.eqz (local.get $b))))
        (i32.store (local.get $l) (local.get $row))
        (i32.store (local.get $r) (local.get $row))
        (local.set $l (i32.add (local.get $l) (i32.shl (local.get $m) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.shl (i32.sub (i32.const 1) (local.get $m)) (i32.const 2))))
        (local.set $mf (f64.convert_i32_u (local.get $m)))
        (local.set $g
          (f64.add
            (local.get $g)
            (f64.mul
              (f64.load (i32.add (local.get $grad) (i32.shl (local.get $row) (i32.const 3))))
              (local.get $mf))))
        (local.set $h
          (f64.add
            (local.get $h)
            (f64.mul
              (f64.load (i32.add (local.get $hess) (i32.shl (local.get $row) (i32.const 3))))
              (local.get $mf))))
        (local.set $sum
          (f64.add
            (local.get $sum)
            (f64.mul
              (f64.load (i32.add (local.get $packed) (i32.shl (local.get $row) (i32.const 3))))
              (local.get $mf))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $next2)))
    (memory.copy (local.get $l) (local.get $scratch) (i32.sub (local.get $r) (local.get $scratch)))
    (f64.store
      (local.get $out)
      (f64.convert_i32_u (i32.shr_u (i32.sub (local.get $l) (local.get $order)) (i32.const 2))))
    (f64.store offset=8 (local.get $out) (local.get $g))
    (f64.store offset=16 (local.get $out) (local.get $h))
    (f64.store offset=24 (local.get $out) (local.get $sum))))
