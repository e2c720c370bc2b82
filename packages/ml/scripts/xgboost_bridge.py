#!/usr/bin/python3
"""Bridge to the real XGBoost for interchange tests and benchmarks.

  predict MODEL.json X.f32 ROWS COLS OUT.f64      -> XGBoost's probabilities (or values) for X
  train X.f32 Y.f64 ROWS COLS OBJECTIVE NUM_CLASS ROUNDS DEPTH MODEL.json OUT.f64
                                                  -> trains with tree_method=hist, saves JSON, writes its predictions
"""
import sys

import numpy as np
import xgboost as xgb


def load_matrix(path, rows, cols):
    return np.fromfile(path, dtype=np.float32).reshape(int(rows), int(cols))


def predict(booster, x):
    return booster.predict(xgb.DMatrix(x, missing=np.nan), output_margin=False).astype(np.float64)


def main(argv):
    command = argv[1]
    if command == "predict":
        _, _, model, xpath, rows, cols, out = argv
        booster = xgb.Booster()
        booster.load_model(model)
        predict(booster, load_matrix(xpath, rows, cols)).tofile(out)
    elif command == "train":
        _, _, xpath, ypath, rows, cols, objective, num_class, rounds, depth, model, out = argv
        x = load_matrix(xpath, rows, cols)
        y = np.fromfile(ypath, dtype=np.float64)
        params = {"objective": objective, "tree_method": "hist", "max_depth": int(depth), "eta": 0.1, "nthread": 2, "seed": 0}
        if objective.startswith("multi"):
            params["num_class"] = int(num_class)
        booster = xgb.train(params, xgb.DMatrix(x, label=y, missing=np.nan), num_boost_round=int(rounds))
        booster.save_model(model)
        predict(booster, x).tofile(out)
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv)
