import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseEnsemble } from './ensemble-choice.ts';

const members = [
  { name: 'trees', logLoss: 1.09 },
  { name: 'LSTM', logLoss: 1.1 },
];

describe('what the ensemble answers', () => {
  it('the calibrated stack, when it beats the prior and every member', () => {
    const c = chooseEnsemble(1.08, members, 1.095);
    assert.equal(c.use, 'meta');
    assert.equal(c.versusPrior, 'beats the prior');
  });

  it('the best member, when the stack is worse than it and the member beats the prior', () => {
    const c = chooseEnsemble(1.092, members, 1.095);
    assert.equal(c.use, 0);
    assert.match(c.reason, /falls back to its best member, trees/);
  });

  it('the best member, when the stack is not below the prior (it says so plainly)', () => {
    const c = chooseEnsemble(1.083, [{ name: 'trees', logLoss: 1.07 }], 1.075);
    assert.equal(c.use, 0);
    assert.match(c.reason, /is NOT below the training prior's 1\.0750/);
  });

  it('the prior, when nothing beats it — never a model that is worse than a constant', () => {
    const c = chooseEnsemble(1.1, members, 1.085);
    assert.equal(c.use, 'prior');
    assert.equal(c.versusPrior, 'below the prior');
    assert.match(c.reason, /NO model beats the training prior/);
  });

  it('unverified when there is no out-of-fold estimate at all', () => {
    const c = chooseEnsemble(Number.NaN, [{ name: 'trees', logLoss: Number.NaN }], Number.NaN);
    assert.equal(c.versusPrior, 'unverified');
    assert.match(c.reason, /cannot tell/);
  });
});
