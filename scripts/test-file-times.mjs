// A node:test reporter for scripts/run-tests.mjs: each test file's seconds (the sum of its top-level tests and
// suites), as JSON. The runner starts the longest files first from these figures (scripts/test-durations.json).
import { relative } from 'node:path';

export default async function* testFileTimes(source) {
  const seconds = {};
  for await (const event of source) {
    if ((event.type === 'test:pass' || event.type === 'test:fail') && event.data.nesting === 0 && event.data.file) {
      const file = relative(process.cwd(), event.data.file);
      seconds[file] = (seconds[file] ?? 0) + event.data.details.duration_ms / 1000;
    }
  }
  yield JSON.stringify(seconds);
}
