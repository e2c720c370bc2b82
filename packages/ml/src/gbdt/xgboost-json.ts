import { OitraderError } from '@oitrader/core';
import { DEFAULT_PARAMS, GradientBoostedTrees } from './gbdt.ts';
import type { ObjectiveName } from './objectives.ts';
import type { Tree } from './tree.ts';

/**
 * XGBoost's JSON model format (1.x `save_model("model.json")`), for gbtree
 * boosters with numerical splits. Depth-wise, leaf-wise and oblivious trees
 * are all plain binary trees there. XGBoost goes left when x < split_condition
 * (float32) and stores each leaf's value in split_conditions.
 */
const OBJECTIVES: Record<ObjectiveName, string> = { multiclass: 'multi:softprob', binary: 'binary:logistic', regression: 'reg:squarederror' };
const ROOT_PARENT = 2147483647;

const xgbNumber = (v: number) => v.toExponential(8).replace('e', 'E');

export function toXgboostJson(model: GradientBoostedTrees): unknown {
  const k = model.treesPerRound;
  const objective = model.params.objective;
  // XGBoost adds base_score (in probability space for logistic) to every margin.
  const baseScore = objective === 'binary' ? 1 / (1 + Math.exp(-model.baseScore[0])) : objective === 'regression' ? model.baseScore[0] : 0.5;
  const trees = model.trees.map((t, id) => {
    const n = t.left.length;
    const parents = new Array<number>(n).fill(ROOT_PARENT);
    for (let i = 0; i < n; i++) if (t.left[i] !== -1) parents[t.left[i]] = parents[t.right[i]] = i;
    return {
      base_weights: Array.from(t.value),
      categories: [],
      categories_nodes: [],
      categories_segments: [],
      categories_sizes: [],
      default_left: Array.from(t.defaultLeft),
      id,
      left_children: Array.from(t.left),
      loss_changes: Array.from(t.gain),
      parents,
      right_children: Array.from(t.right),
      split_conditions: Array.from({ length: n }, (_, i) => (t.left[i] === -1 ? t.value[i] : t.threshold[i])),
      split_indices: Array.from(t.feature, (f) => Math.max(0, f)),
      split_type: new Array<number>(n).fill(0),
      sum_hessian: Array.from(t.cover),
      tree_param: { num_deleted: '0', num_feature: String(model.numFeatures), num_nodes: String(n), size_leaf_vector: '0' },
    };
  });
  const objectiveJson =
    objective === 'multiclass'
      ? { name: OBJECTIVES.multiclass, softmax_multiclass_param: { num_class: String(model.numClass) } }
      : { name: OBJECTIVES[objective], reg_loss_param: { scale_pos_weight: '1' } };
  return {
    learner: {
      attributes: {},
      feature_names: model.featureNames ?? [],
      feature_types: model.featureNames ? model.featureNames.map(() => 'float') : [],
      gradient_booster: {
        model: {
          gbtree_model_param: { num_parallel_tree: '1', num_trees: String(trees.length), size_leaf_vector: '0' },
          tree_info: model.trees.map((_, i) => i % k),
          trees,
        },
        name: 'gbtree',
      },
      learner_model_param: {
        base_score: xgbNumber(baseScore),
        boost_from_average: '1',
        num_class: String(objective === 'multiclass' ? model.numClass : 0),
        num_feature: String(model.numFeatures),
        num_target: '1',
      },
      objective: objectiveJson,
    },
    version: [1, 7, 4],
  };
}

interface XgbTree {
  left_children: number[];
  right_children: number[];
  split_indices: number[];
  split_conditions: number[];
  default_left: number[] | boolean[];
  base_weights?: number[];
  sum_hessian?: number[];
  loss_changes?: number[];
  split_type?: number[];
}

/** Imports an XGBoost JSON model (gbtree, numerical splits) so it predicts here exactly as there. */
export function fromXgboostJson(json: unknown): GradientBoostedTrees {
  const learner = (json as { learner?: Record<string, unknown> })?.learner as
    | { gradient_booster?: { name?: string; model?: { trees?: XgbTree[]; tree_info?: number[] } }; learner_model_param?: Record<string, string>; objective?: { name?: string }; feature_names?: string[] }
    | undefined;
  if (!learner) throw new OitraderError('not an XGBoost JSON model (no "learner")', { hint: 'save it with booster.save_model("model.json")' });
  if (learner.gradient_booster?.name !== 'gbtree') throw new OitraderError(`XGBoost booster "${learner.gradient_booster?.name}" is not supported (gbtree only)`);
  const objectiveName = learner.objective?.name;
  const objective = (Object.entries(OBJECTIVES).find(([, v]) => v === objectiveName)?.[0] ?? (objectiveName === 'multi:softmax' ? 'multiclass' : undefined)) as ObjectiveName | undefined;
  if (!objective) throw new OitraderError(`XGBoost objective "${objectiveName}" is not supported`, { hint: `supported: ${Object.values(OBJECTIVES).join(', ')}` });
  const params = learner.learner_model_param ?? {};
  const numFeatures = Number(params.num_feature);
  const numClass = objective === 'multiclass' ? Number(params.num_class) : 1;
  const baseScore = Number(params.base_score ?? 0.5);
  if (!(numFeatures > 0) || !(numClass >= 1) || !Number.isFinite(baseScore)) throw new OitraderError('XGBoost model has an invalid learner_model_param (num_feature, num_class or base_score)');
  const xgbTrees = learner.gradient_booster.model?.trees ?? [];
  const treeInfo = learner.gradient_booster.model?.tree_info ?? [];
  const model = new GradientBoostedTrees({ ...DEFAULT_PARAMS, objective });
  model.numFeatures = numFeatures;
  model.numClass = objective === 'multiclass' ? numClass : 1;
  const k = model.treesPerRound;
  treeInfo.forEach((group, i) => {
    if (group !== i % k) throw new OitraderError(`XGBoost tree ${i} belongs to class ${group}; expected round-robin order (class ${i % k})`);
  });
  model.trees = xgbTrees.map((t, i) => convertTree(t, i, numFeatures));
  const margin = objective === 'binary' ? Math.log(baseScore / (1 - baseScore)) : baseScore;
  model.baseScore = new Float64Array(k).fill(objective === 'multiclass' ? baseScore : margin);
  model.featureNames = learner.feature_names && learner.feature_names.length === numFeatures ? learner.feature_names : undefined;
  model.bestIteration = xgbTrees.length / k - 1;
  return model;
}

function convertTree(t: XgbTree, index: number, numFeatures: number): Tree {
  const n = t.left_children?.length ?? 0;
  if (n === 0 || t.right_children?.length !== n || t.split_indices?.length !== n || t.split_conditions?.length !== n) throw new OitraderError(`XGBoost tree ${index} is malformed (node arrays of different lengths)`);
  if (t.split_type?.some((s) => s !== 0)) throw new OitraderError(`XGBoost tree ${index} has categorical splits, which are not supported`);
  const tree: Tree = {
    left: Int32Array.from(t.left_children),
    right: Int32Array.from(t.right_children),
    feature: new Int32Array(n),
    threshold: new Float32Array(n),
    defaultLeft: Uint8Array.from(t.default_left as ArrayLike<number>, Number),
    value: new Float64Array(n),
    cover: Float64Array.from(t.sum_hessian ?? new Array<number>(n).fill(1)),
    gain: Float64Array.from(t.loss_changes ?? new Array<number>(n).fill(0)),
  };
  // Each node the child of one split at most: a node reached twice (or a loop) is not a tree, and walking it could loop forever.
  const hasParent = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (tree.left[i] === -1) {
      tree.feature[i] = -1;
      // XGBoost keeps leaf values as float32; so do we, to predict the same.
      tree.value[i] = Math.fround(t.split_conditions[i]);
    } else {
      if (!(t.split_indices[i] >= 0 && t.split_indices[i] < numFeatures)) throw new OitraderError(`XGBoost tree ${index} node ${i} splits on feature ${t.split_indices[i]} of ${numFeatures}`);
      if (!(tree.left[i] > 0 && tree.left[i] < n && tree.right[i] > 0 && tree.right[i] < n)) throw new OitraderError(`XGBoost tree ${index} node ${i} has a child outside the tree`);
      for (const child of [tree.left[i], tree.right[i]]) {
        if (hasParent[child]) throw new OitraderError(`XGBoost tree ${index} node ${child} is the child of two splits: not a tree`);
        hasParent[child] = 1;
      }
      tree.feature[i] = t.split_indices[i];
      tree.threshold[i] = t.split_conditions[i];
    }
  }
  return tree;
}

/** Fields XGBoost parses as floating-point: an integral value must still be written as a float ("0.0"). */
const FLOAT_ARRAYS = new Set(['base_weights', 'loss_changes', 'split_conditions', 'sum_hessian']);

const floatText = (v: number) => (Number.isInteger(v) ? `${v}.0` : String(v));

/** The model as XGBoost-loadable JSON text (load with `booster.load_model("model.json")`). */
export function stringifyXgboostJson(model: GradientBoostedTrees): string {
  const floats: string[] = [];
  const text = JSON.stringify(toXgboostJson(model), (key, value: unknown) => {
    if (FLOAT_ARRAYS.has(key) && Array.isArray(value)) {
      floats.push(`[${(value as number[]).map(floatText).join(',')}]`);
      return `@@float${floats.length - 1}@@`;
    }
    return value;
  });
  return text.replace(/"@@float(\d+)@@"/g, (_, i: string) => floats[Number(i)]);
}
