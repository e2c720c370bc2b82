import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { EXAMPLES } from './help-examples.ts';
import { buildProgram } from './main.ts';

function leaves(command: Command, path: string[] = []): Array<[string, Command]> {
  return command.commands.flatMap((sub) => (sub.commands.length === 0 ? [[[...path, sub.name()].join(' '), sub] as [string, Command]] : leaves(sub, [...path, sub.name()])));
}

const helpOf = (command: Command) => {
  let text = '';
  command.configureOutput({ writeOut: (s) => (text += s) });
  command.outputHelp();
  return text;
};

/** The words of an example's oitrader invocation: environment assignments, `# comments` and `&& more` dropped. */
function invocation(example: string): string[] {
  const line = example.split(' # ')[0].split(' && ')[0];
  const words: string[] = line.match(/"[^"]*"|\S+/g) ?? [];
  return words.slice(words.indexOf('oitrader') + 1);
}

describe('--help: an example for every command, each one valid', () => {
  const program = buildProgram();
  const commands = leaves(program);

  it('every command ends its --help with examples', () => {
    const missing = commands.filter(([, c]) => !/\nExamples?:\n {2}\S/.test(helpOf(c))).map(([path]) => path);
    assert.deepEqual(missing, [], `commands without an example in --help: ${missing.join(', ')}`);
  });

  it('every example names a real command and only options that command (or the program) takes', () => {
    const byPath = new Map(commands);
    const global = new Set(program.options.flatMap((o) => [o.long, o.short]).filter(Boolean));
    for (const [path, examples] of Object.entries(EXAMPLES)) {
      const command = byPath.get(path);
      assert.ok(command, `EXAMPLES has "${path}", which is no command`);
      const known = new Set([...global, ...command.options.flatMap((o) => [o.long, o.short, o.negate ? o.long : undefined])].filter(Boolean));
      for (const example of examples) {
        const words = invocation(example).filter((w, i, all) => !(all[i - 1] === '-c' || all[i - 1] === '--config'));
        const flagsGone = words.filter((w) => !global.has(w));
        assert.equal(flagsGone.slice(0, path.split(' ').length).join(' '), path, `"${example}" does not run oitrader ${path}`);
        for (const word of words.filter((w) => w.startsWith('-'))) assert.ok(known.has(word), `"${example}": oitrader ${path} has no option ${word}`);
      }
    }
  });

  it('the top-level help speaks of what commands do, not of the project\'s phases', () => {
    assert.doesNotMatch(helpOf(program), /phase \d/i);
  });
});
