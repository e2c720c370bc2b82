;; The LSTM recurrence as WebAssembly SIMD kernels (f32x4); packages/ml/src/lstm/lstm-simd.ts loads
;; this file, assembles it with wabt and checks it with WebAssembly.validate. Pointers are byte
;; addresses into the memory. For each window i of a block: a_i = p_i + h_i·U, where p_i is the
;; (precomputed) input projection of the bar the window reads at this step, h_i its hidden state
;; and U the recurrent kernel (units × gates, row-major). Eight f32x4 accumulators hold 32 gate
;; columns while the units are swept, so each loaded h value feeds 32 multiply-adds.
;;
;; tanh (inlined where used) is computed as Eigen and ONNX Runtime's MLAS compute it in float32:
;; the input clamped to ±7.905311 (where float32 tanh is ±1), then a 13/6-degree rational
;; function; within 1e-6 of Math.tanh (lstm-simd.test.ts). The gates are tfjs' hard sigmoid,
;; clip(0.2·x + 0.5, 0, 1).
(module
  (import "env" "memory" (memory 1))

  ;; gemm(n, units, gatesBytes, u, idx, h, a): a_i = p_i + h_i·U for the n windows; idx[i] is
  ;; window i's p row address.
  (func $gemm (export "gemm") (param $n i32) (param $units i32) (param $gatesBytes i32) (param $u i32)
    (param $idx i32) (param $h i32) (param $a i32)
    (local $i i32) (local $q i32) (local $j i32) (local $hp i32) (local $pp i32) (local $ap i32)
    (local $up i32) (local $hb i32) (local $acc0 v128) (local $acc1 v128) (local $acc2 v128)
    (local $acc3 v128) (local $acc4 v128) (local $acc5 v128) (local $acc6 v128) (local $acc7 v128)
    (local $hs v128)
    (local.set $hb (i32.shl (local.get $units) (i32.const 2)))
    (local.set $i (i32.const 0))
    (block $exit1
      (loop $next2
        (br_if $exit1 (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $pp (i32.load (i32.add (local.get $idx) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $hp (i32.add (local.get $h) (i32.mul (local.get $i) (local.get $hb))))
        (local.set $ap (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $gatesBytes))))
        (local.set $q (i32.const 0))
        (block $exit3
          (loop $next4
            (br_if $exit3 (i32.ge_u (local.get $q) (local.get $gatesBytes)))
            (local.set $acc0 (v128.load (i32.add (local.get $pp) (local.get $q))))
            (local.set $acc1 (v128.load offset=16 (i32.add (local.get $pp) (local.get $q))))
            (local.set $acc2 (v128.load offset=32 (i32.add (local.get $pp) (local.get $q))))
            (local.set $acc3 (v128.load offset=48 (i32.add (local.get $pp) (local.get $q))))
            (local.set $acc4 (v128.load offset=64 (i32.add (local.get $pp) (local.get $q))))
            (local.set $acc5 (v128.load offset=80 (i32.add (local.get $pp) (local.get $q))))
            (local.set $acc6 (v128.load offset=96 (i32.add (local.get $pp) (local.get $q))))
            (local.set $acc7 (v128.load offset=112 (i32.add (local.get $pp) (local.get $q))))
            (local.set $up (i32.add (local.get $u) (local.get $q)))
            (local.set $j (i32.const 0))
            (block $exit5
              (loop $next6
                (br_if $exit5 (i32.ge_u (local.get $j) (local.get $hb)))
                (local.set $hs (f32x4.splat (f32.load (i32.add (local.get $hp) (local.get $j)))))
                (local.set $acc0
                  (f32x4.add (local.get $acc0) (f32x4.mul (local.get $hs) (v128.load (local.get $up)))))
                (local.set $acc1
                  (f32x4.add
                    (local.get $acc1)
                    (f32x4.mul (local.get $hs) (v128.load offset=16 (local.get $up)))))
                (local.set $acc2
                  (f32x4.add
                    (local.get $acc2)
                    (f32x4.mul (local.get $hs) (v128.load offset=32 (local.get $up)))))
                (local.set $acc3
                  (f32x4.add
                    (local.get $acc3)
                    (f32x4.mul (local.get $hs) (v128.load offset=48 (local.get $up)))))
                (local.set $acc4
                  (f32x4.add
                    (local.get $acc4)
                    (f32x4.mul (local.get $hs) (v128.load offset=64 (local.get $up)))))
                (local.set $acc5
                  (f32x4.add
                    (local.get $acc5)
                    (f32x4.mul (local.get $hs) (v128.load offset=80 (local.get $up)))))
                (local.set $acc6
                  (f32x4.add
                    (local.get $acc6)
                    (f32x4.mul (local.get $hs) (v128.load offset=96 (local.get $up)))))
                (local.set $acc7
                  (f32x4.add
                    (local.get $acc7)
                    (f32x4.mul (local.get $hs) (v128.load offset=112 (local.get $up)))))
                (local.set $up (i32.add (local.get $up) (local.get $gatesBytes)))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))
                (br $next6)))
            (v128.store (i32.add (local.get $ap) (local.get $q)) (local.get $acc0))
            (v128.store offset=16 (i32.add (local.get $ap) (local.get $q)) (local.get $acc1))
            (v128.store offset=32 (i32.add (local.get $ap) (local.get $q)) (local.get $acc2))
            (v128.store offset=48 (i32.add (local.get $ap) (local.get $q)) (local.get $acc3))
            (v128.store offset=64 (i32.add (local.get $ap) (local.get $q)) (local.get $acc4))
            (v128.store offset=80 (i32.add (local.get $ap) (local.get $q)) (local.get $acc5))
            (v128.store offset=96 (i32.add (local.get $ap) (local.get $q)) (local.get $acc6))
            (v128.store offset=112 (i32.add (local.get $ap) (local.get $q)) (local.get $acc7))
            (local.set $q (i32.add (local.get $q) (i32.const 128)))
            (br $next4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next2))))

  ;; gates(n, units, gatesBytes, a, h, c): the cell update for n windows from their
  ;; pre-activations a (Keras' gate order i, f, c, o): c = hs(f)·c + hs(i)·tanh(a_c),
  ;; h = hs(o)·tanh(c), in place in h and c (n × units each).
  (func $gates (export "gates") (param $n i32) (param $units i32) (param $gatesBytes i32) (param $a i32)
    (param $h i32) (param $c i32)
    (local $r i32) (local $u i32) (local $ub i32) (local $ar i32) (local $hr i32) (local $cell v128)
    (local $x v128) (local $x2 v128)
    (local.set $ub (i32.shl (local.get $units) (i32.const 2)))
    (local.set $r (i32.const 0))
    (block $exit1
      (loop $next2
        (br_if $exit1 (i32.ge_u (local.get $r) (local.get $n)))
        (local.set $ar (i32.add (local.get $a) (i32.mul (local.get $r) (local.get $gatesBytes))))
        (local.set $hr (i32.mul (local.get $r) (local.get $ub)))
        (local.set $u (i32.const 0))
        (block $exit3
          (loop $next4
            (br_if $exit3 (i32.ge_u (local.get $u) (local.get $ub)))
            (f32x4.mul
              (f32x4.min
                (f32x4.max
                  (f32x4.add
                    (f32x4.mul
                      (v128.load
                        (i32.add
                          (i32.add (local.get $ar) (local.get $u))
                          (i32.mul (local.get $ub) (i32.const 1))))
                      (f32x4.splat (f32.const 0.2)))
                    (f32x4.splat (f32.const 0.5)))
                  (f32x4.splat (f32.const 0)))
                (f32x4.splat (f32.const 1)))
              (v128.load (i32.add (i32.add (local.get $c) (local.get $hr)) (local.get $u))))
            (f32x4.min
              (f32x4.max
                (f32x4.add
                  (f32x4.mul
                    (v128.load (i32.add (local.get $ar) (local.get $u)))
                    (f32x4.splat (f32.const 0.2)))
                  (f32x4.splat (f32.const 0.5)))
                (f32x4.splat (f32.const 0)))
              (f32x4.splat (f32.const 1)))
            (local.set $x2
              (f32x4.mul
                (local.tee $x
                  (f32x4.max
                    (f32x4.min
                      (v128.load
                        (i32.add
                          (i32.add (local.get $ar) (local.get $u))
                          (i32.mul (local.get $ub) (i32.const 2))))
                      (f32x4.splat (f32.const 7.905311)))
                    (f32x4.splat (f32.const -7.905311))))
                (local.get $x)))
            (local.set $cell
              (f32x4.add
                (f32x4.div
                  (f32x4.mul
                    (f32x4.add
                      (f32x4.mul
                        (f32x4.add
                          (f32x4.mul
                            (f32x4.add
                              (f32x4.mul
                                (f32x4.add
                                  (f32x4.mul
                                    (f32x4.add
                                      (f32x4.mul
                                        (f32x4.add
                                          (f32x4.mul (f32x4.splat (f32.const -2.7607684e-16)) (local.get $x2))
                                          (f32x4.splat (f32.const 2.000188e-13)))
                                        (local.get $x2))
                                      (f32x4.splat (f32.const -8.604672e-11)))
                                    (local.get $x2))
                                  (f32x4.splat (f32.const 5.1222973e-08)))
                                (local.get $x2))
                              (f32x4.splat (f32.const 1.48572235e-05)))
                            (local.get $x2))
                          (f32x4.splat (f32.const 0.00063726195)))
                        (local.get $x2))
                      (f32x4.splat (f32.const 0.0048935246)))
                    (local.get $x))
                  (f32x4.add
                    (f32x4.mul
                      (f32x4.add
                        (f32x4.mul
                          (f32x4.add
                            (f32x4.mul (f32x4.splat (f32.const 1.1982584e-06)) (local.get $x2))
                            (f32x4.splat (f32.const 0.00011853471)))
                          (local.get $x2))
                        (f32x4.splat (f32.const 0.0022684347)))
                      (local.get $x2))
                    (f32x4.splat (f32.const 0.004893525))))
                (f32x4.mul)))
            (v128.store (i32.add (i32.add (local.get $c) (local.get $hr)) (local.get $u)) (local.get $cell))
            (i32.add (i32.add (local.get $h) (local.get $hr)) (local.get $u))
            (f32x4.min
              (f32x4.max
                (f32x4.add
                  (f32x4.mul
                    (v128.load
                      (i32.add
                        (i32.add (local.get $ar) (local.get $u))
                        (i32.mul (local.get $ub) (i32.const 3))))
                    (f32x4.splat (f32.const 0.2)))
                  (f32x4.splat (f32.const 0.5)))
                (f32x4.splat (f32.const 0)))
              (f32x4.splat (f32.const 1)))
            (local.set $x2
              (f32x4.mul
                (local.tee $x
                  (f32x4.max
                    (f32x4.min (local.get $cell) (f32x4.splat (f32.const 7.905311)))
                    (f32x4.splat (f32.const -7.905311))))
                (local.get $x)))
            (v128.store
              (f32x4.div
                (f32x4.mul
                  (f32x4.add
                    (f32x4.mul
                      (f32x4.add
                        (f32x4.mul
                          (f32x4.add
                            (f32x4.mul
                              (f32x4.add
                                (f32x4.mul
                                  (f32x4.add
                                    (f32x4.mul
                                      (f32x4.add
                                        (f32x4.mul (f32x4.splat (f32.const -2.7607684e-16)) (local.get $x2))
                                        (f32x4.splat (f32.const 2.000188e-13)))
                                      (local.get $x2))
                                    (f32x4.splat (f32.const -8.604672e-11)))
                                  (local.get $x2))
                                (f32x4.splat (f32.const 5.1222973e-08)))
                              (local.get $x2))
                            (f32x4.splat (f32.const 1.48572235e-05)))
                          (local.get $x2))
                        (f32x4.splat (f32.const 0.00063726195)))
                      (local.get $x2))
                    (f32x4.splat (f32.const 0.0048935246)))
                  (local.get $x))
                (f32x4.add
                  (f32x4.mul
                    (f32x4.add
                      (f32x4.mul
                        (f32x4.add
                          (f32x4.mul (f32x4.splat (f32.const 1.1982584e-06)) (local.get $x2))
                          (f32x4.splat (f32.const 0.00011853471)))
                        (local.get $x2))
                      (f32x4.splat (f32.const 0.0022684347)))
                    (local.get $x2))
                  (f32x4.splat (f32.const 0.004893525))))
              (f32x4.mul))
            (local.set $u (i32.add (local.get $u) (i32.const 16)))
            (br $next4)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $next2))))

  ;; gatesBackward(n, units, gatesBytes, a, cPrev, c, dh, dc, da): one step of
  ;; backpropagation through the cell update for n windows: from the step's pre-activations a, the
  ;; cell states before (cPrev) and after (c), the loss gradient on the hidden state dh and on the
  ;; cell state dc (in place: on return, the gradient on cPrev), writes the gradient on the
  ;; pre-activations to da (n × gates):
  ;;   dcs = dc + dh·hs(a_o)·(1 − tanh²(c));  da_o = dh·tanh(c)·hs'(a_o);
  ;;   da_c = dcs·hs(a_i)·(1 − tanh²(a_c));   da_i = dcs·tanh(a_c)·hs'(a_i);
  ;;   da_f = dcs·cPrev·hs'(a_f);             dc ← dcs·hs(a_f).
  ;; Hard-sigmoid derivative hs' = 0.2 where 0 ≤ 0.2·x + 0.5 ≤ 1, as tfjs' clipByValue gradient.
  (func $gatesBackward (export "gatesBackward") (param $n i32) (param $units i32) (param $gatesBytes i32)
    (param $a i32) (param $cPrev i32) (param $c i32) (param $dh i32) (param $dc i32) (param $da i32)
    (local $r i32) (local $u i32) (local $ub i32) (local $ar i32) (local $hr i32) (local $tc v128)
    (local $ao v128) (local $dcs v128) (local $dhv v128) (local $y v128) (local $x v128) (local $x2 v128)
    (local.set $ub (i32.shl (local.get $units) (i32.const 2)))
    (local.set $r (i32.const 0))
    (block $exit1
      (loop $next2
        (br_if $exit1 (i32.ge_u (local.get $r) (local.get $n)))
        (local.set $ar (i32.mul (local.get $r) (local.get $gatesBytes)))
        (local.set $hr (i32.mul (local.get $r) (local.get $ub)))
        (local.set $u (i32.const 0))
        (block $exit3
          (loop $next4
            (br_if $exit3 (i32.ge_u (local.get $u) (local.get $ub)))
            (local.set $x2
              (f32x4.mul
                (local.tee $x
                  (f32x4.max
                    (f32x4.min
                      (v128.load (i32.add (i32.add (local.get $c) (local.get $hr)) (local.get $u)))
                      (f32x4.splat (f32.const 7.905311)))
                    (f32x4.splat (f32.const -7.905311))))
                (local.get $x)))
            (local.set $tc
              (f32x4.div
                (f32x4.mul
                  (f32x4.add
                    (f32x4.mul
                      (f32x4.add
                        (f32x4.mul
                          (f32x4.add
                            (f32x4.mul
                              (f32x4.add
                                (f32x4.mul
                                  (f32x4.add
                                    (f32x4.mul
                                      (f32x4.add
                                        (f32x4.mul (f32x4.splat (f32.const -2.7607684e-16)) (local.get $x2))
                                        (f32x4.splat (f32.const 2.000188e-13)))
                                      (local.get $x2))
                                    (f32x4.splat (f32.const -8.604672e-11)))
                                  (local.get $x2))
                                (f32x4.splat (f32.const 5.1222973e-08)))
                              (local.get $x2))
                            (f32x4.splat (f32.const 1.48572235e-05)))
                          (local.get $x2))
                        (f32x4.splat (f32.const 0.00063726195)))
                      (local.get $x2))
                    (f32x4.splat (f32.const 0.0048935246)))
                  (local.get $x))
                (f32x4.add
                  (f32x4.mul
                    (f32x4.add
                      (f32x4.mul
                        (f32x4.add
                          (f32x4.mul (f32x4.splat (f32.const 1.1982584e-06)) (local.get $x2))
                          (f32x4.splat (f32.const 0.00011853471)))
                        (local.get $x2))
                      (f32x4.splat (f32.const 0.0022684347)))
                    (local.get $x2))
                  (f32x4.splat (f32.const 0.004893525)))))
            (local.set $dhv (v128.load (i32.add (i32.add (local.get $dh) (local.get $hr)) (local.get $u))))
            (local.set $ao
              (f32x4.min
                (f32x4.max
                  (f32x4.add
                    (f32x4.mul
                      (v128.load
                        (i32.add
                          (i32.add (i32.add (local.get $a) (local.get $ar)) (local.get $u))
                          (i32.mul (local.get $ub) (i32.const 3))))
                      (f32x4.splat (f32.const 0.2)))
                    (f32x4.splat (f32.const 0.5)))
                  (f32x4.splat (f32.const 0)))
                (f32x4.splat (f32.const 1))))
            (local.set $dcs
              (f32x4.add
                (v128.load (i32.add (i32.add (local.get $dc) (local.get $hr)) (local.get $u)))
                (f32x4.mul
                  (f32x4.mul (local.get $dhv) (local.get $ao))
                  (f32x4.sub (f32x4.splat (f32.const 1)) (f32x4.mul (local.get $tc) (local.get $tc))))))
            (v128.store
              (i32.add
                (i32.add (i32.add (local.get $da) (local.get $ar)) (local.get $u))
                (i32.mul (local.get $ub) (i32.const 3)))
              (f32x4.mul
                (f32x4.mul (local.get $dhv) (local.get $tc))
                (v128.and
                  (v128.and
                    (f32x4.ge
                      (local.tee $y
                        (f32x4.add
                          (f32x4.mul
                            (v128.load
                              (i32.add
                                (i32.add (i32.add (local.get $a) (local.get $ar)) (local.get $u))
                                (i32.mul (local.get $ub) (i32.const 3))))
                            (f32x4.splat (f32.const 0.2)))
                          (f32x4.splat (f32.const 0.5))))
                      (f32x4.splat (f32.const 0)))
                    (f32x4.le (local.get $y) (f32x4.splat (f32.const 1))))
                  (f32x4.splat (f32.const 0.2)))))
            (i32.add
              (i32.add (i32.add (local.get $da) (local.get $ar)) (local.get $u))
              (i32.mul (local.get $ub) (i32.const 2)))
            (f32x4.mul
              (local.get $dcs)
              (f32x4.min
                (f32x4.max
                  (f32x4.add
                    (f32x4.mul
                      (v128.load (i32.add (i32.add (local.get $a) (local.get $ar)) (local.get $u)))
                      (f32x4.splat (f32.const 0.2)))
                    (f32x4.splat (f32.const 0.5)))
                  (f32x4.splat (f32.const 0)))
                (f32x4.splat (f32.const 1))))
            (local.set $x2
              (f32x4.mul
                (local.tee $x
                  (f32x4.max
                    (f32x4.min
                      (v128.load
                        (i32.add
                          (i32.add (i32.add (local.get $a) (local.get $ar)) (local.get $u))
                          (i32.mul (local.get $ub) (i32.const 2))))
                      (f32x4.splat (f32.const 7.905311)))
                    (f32x4.splat (f32.const -7.905311))))
                (local.get $x)))
            (local.set $ao
              (f32x4.div
                (f32x4.mul
                  (f32x4.add
                    (f32x4.mul
                      (f32x4.add
                        (f32x4.mul
                          (f32x4.add
                            (f32x4.mul
                              (f32x4.add
                                (f32x4.mul
                                  (f32x4.add
                                    (f32x4.mul
                                      (f32x4.add
                                        (f32x4.mul (f32x4.splat (f32.const -2.7607684e-16)) (local.get $x2))
                                        (f32x4.splat (f32.const 2.000188e-13)))
                                      (local.get $x2))
                                    (f32x4.splat (f32.const -8.604672e-11)))
                                  (local.get $x2))
                                (f32x4.splat (f32.const 5.1222973e-08)))
                              (local.get $x2))
                            (f32x4.splat (f32.const 1.48572235e-05)))
                          (local.get $x2))
                        (f32x4.splat (f32.const 0.00063726195)))
                      (local.get $x2))
                    (f32x4.splat (f32.const 0.0048935246)))
                  (local.get $x))
                (f32x4.add
                  (f32x4.mul
                    (f32x4.add
                      (f32x4.mul
                        (f32x4.add
                          (f32x4.mul (f32x4.splat (f32.const 1.1982584e-06)) (local.get $x2))
                          (f32x4.splat (f32.const 0.00011853471)))
                        (local.get $x2))
                      (f32x4.splat (f32.const 0.0022684347)))
                    (local.get $x2))
                  (f32x4.splat (f32.const 0.004893525)))))
            (v128.store
              (f32x4.sub (f32x4.splat (f32.const 1)) (f32x4.mul (local.get $ao) (local.get $ao)))
              (f32x4.mul))
            (v128.store
              (i32.add (i32.add (local.get $da) (local.get $ar)) (local.get $u))
              (f32x4.mul
                (f32x4.mul (local.get $dcs) (local.get $ao))
                (v128.and
                  (v128.and
                    (f32x4.ge
                      (local.tee $y
                        (f32x4.add
                          (f32x4.mul
                            (v128.load (i32.add (i32.add (local.get $a) (local.get $ar)) (local.get $u)))
                            (f32x4.splat (f32.const 0.2)))
                          (f32x4.splat (f32.const 0.5))))
                      (f32x4.splat (f32.const 0)))
                    (f32x4.le (local.get $y) (f32x4.splat (f32.const 1))))
                  (f32x4.splat (f32.const 0.2)))))
            (v128.store
              (i32.add
                (i32.add (i32.add (local.get $da) (local.get $ar)) (local.get $u))
                (i32.mul (local.get $ub) (i32.const 1)))
              (f32x4.mul
                (f32x4.mul
                  (local.get $dcs)
                  (v128.load (i32.add (i32.add (local.get $cPrev) (local.get $hr)) (local.get $u))))
                (v128.and
                  (v128.and
                    (f32x4.ge
                      (local.tee $y
                        (f32x4.add
                          (f32x4.mul
                            (v128.load
                              (i32.add
                                (i32.add (i32.add (local.get $a) (local.get $ar)) (local.get $u))
                                (i32.mul (local.get $ub) (i32.const 1))))
                            (f32x4.splat (f32.const 0.2)))
                          (f32x4.splat (f32.const 0.5))))
                      (f32x4.splat (f32.const 0)))
                    (f32x4.le (local.get $y) (f32x4.splat (f32.const 1))))
                  (f32x4.splat (f32.const 0.2)))))
            (v128.store
              (i32.add (i32.add (local.get $dc) (local.get $hr)) (local.get $u))
              (f32x4.mul
                (local.get $dcs)
                (f32x4.min
                  (f32x4.max
                    (f32x4.add
                      (f32x4.mul
                        (v128.load
                          (i32.add
                            (i32.add (i32.add (local.get $a) (local.get $ar)) (local.get $u))
                            (i32.mul (local.get $ub) (i32.const 1))))
                        (f32x4.splat (f32.const 0.2)))
                      (f32x4.splat (f32.const 0.5)))
                    (f32x4.splat (f32.const 0)))
                  (f32x4.splat (f32.const 1)))))
            (local.set $u (i32.add (local.get $u) (i32.const 16)))
            (br $next4)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $next2))))

  ;; addRows(n, gatesBytes, idx, delta, src): for each of n rows of src (gatesBytes each), adds it
  ;; into the row at idx[r] + delta (rows may repeat: they sum).
  (func $addRows (export "addRows") (param $n i32) (param $gatesBytes i32) (param $idx i32) (param $delta i32)
    (param $src i32)
    (local $r i32) (local $q i32) (local $d i32)
    (local.set $r (i32.const 0))
    (block $exit1
      (loop $next2
        (br_if $exit1 (i32.ge_u (local.get $r) (local.get $n)))
        (local.set $d
          (i32.add
            (i32.load (i32.add (local.get $idx) (i32.shl (local.get $r) (i32.const 2))))
            (local.get $delta)))
        (local.set $q (i32.const 0))
        (block $exit3
          (loop $next4
            (br_if $exit3 (i32.ge_u (local.get $q) (local.get $gatesBytes)))
            (v128.store
              (i32.add (local.get $d) (local.get $q))
              (f32x4.add
                (v128.load (i32.add (local.get $d) (local.get $q)))
                (v128.load (i32.add (local.get $src) (local.get $q)))))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (br $next4)))
        (local.set $src (i32.add (local.get $src) (local.get $gatesBytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $next2)))))
