#!/usr/bin/python3
"""Reference timings for bench/gbdt: XGBoost hist (nthread=2) and scikit-learn
HistGradientBoostingClassifier on the same split the TypeScript engine uses.

  gbdt_reference.py XTRAIN.f32 YTRAIN.f64 XTEST.f32 YTEST.f64 COLS ROUNDS DEPTH LR
prints one JSON line per library (XGBoost depth-wise, XGBoost lossguide, scikit-learn): fit seconds (wall and CPU), predict rows/s (best of 3), test log-loss, accuracy.
"""
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")
# Threads sleep at barriers instead of spinning: on a shared, loaded machine a
# spinning OpenMP team burns its CPU share waiting for a descheduled thread.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import numpy as np
import xgboost as xgb
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, log_loss


def best_of(runs, predict, setup=lambda: None):
    """The last result and the fastest of `runs` timings (setup untimed): the rule bench/timing.ts applies to ours."""
    best = float("inf")
    for _ in range(runs):
        argument = setup()
        started = time.perf_counter()
        result = predict(argument)
        best = min(best, time.perf_counter() - started)
    return result, best


def main(argv):
    xtr, ytr, xte, yte, cols, rounds, depth, lr = argv[1:]
    cols, rounds, depth, lr = int(cols), int(rounds), int(depth), float(lr)
    x_train = np.fromfile(xtr, dtype=np.float32).reshape(-1, cols)
    y_train = np.fromfile(ytr, dtype=np.float64)
    x_test = np.fromfile(xte, dtype=np.float32).reshape(-1, cols)
    y_test = np.fromfile(yte, dtype=np.float64)
    classes = int(max(y_train.max(), y_test.max())) + 1

    dtrain = xgb.DMatrix(x_train, label=y_train, missing=np.nan, nthread=2)
    base = {"objective": "multi:softprob", "num_class": classes, "tree_method": "hist", "eta": lr, "nthread": 2, "seed": 0, "max_bin": 255}
    # Depth-wise as the guide trains it, and leaf-wise (lossguide, 63 leaves, no depth limit) beside our leaf-wise trees.
    for name, extra in ((f"hist nthread=2", {"max_depth": depth}),
                        (f"hist lossguide 63 leaves", {"grow_policy": "lossguide", "max_depth": 0, "max_leaves": 63})):
        started, cpu = time.perf_counter(), time.process_time()
        booster = xgb.train({**base, **extra}, dtrain, num_boost_round=rounds)
        fit, fit_cpu = time.perf_counter() - started, time.process_time() - cpu
        # A fresh DMatrix each time: the booster caches its predictions for a DMatrix it has seen.
        proba, predict = best_of(3, lambda dtest: booster.predict(dtest), lambda: xgb.DMatrix(x_test, missing=np.nan, nthread=2))
        print(json.dumps({"library": f"xgboost {xgb.__version__} {name}", "fit_s": fit, "fit_cpu_s": fit_cpu, "predict_rows_s": len(x_test) / predict,
                          "logloss": log_loss(y_test, proba, labels=list(range(classes))), "accuracy": accuracy_score(y_test, proba.argmax(1))}))

    model = HistGradientBoostingClassifier(max_iter=rounds, learning_rate=lr, max_depth=depth, max_leaf_nodes=None,
                                           early_stopping=False, random_state=0, l2_regularization=1.0, min_samples_leaf=1)
    started, cpu = time.perf_counter(), time.process_time()
    model.fit(x_train, y_train)
    fit, fit_cpu = time.perf_counter() - started, time.process_time() - cpu
    proba, predict = best_of(3, lambda _: model.predict_proba(x_test))
    import sklearn
    print(json.dumps({"library": f"scikit-learn {sklearn.__version__} HistGradientBoosting", "fit_s": fit, "fit_cpu_s": fit_cpu, "predict_rows_s": len(x_test) / predict,
                      "logloss": log_loss(y_test, proba, labels=list(range(classes))), "accuracy": accuracy_score(y_test, proba.argmax(1))}))


if __name__ == "__main__":
    main(sys.argv)
