import { loadConfig, type Config } from '@oitrader/core';
import { createOutput, type Output } from './output.ts';

export interface GlobalOptions {
  config?: string;
  json?: boolean;
  quiet?: boolean;
}

export interface CommandContext {
  config: Config;
  configFile: string | undefined;
  out: Output;
}

export function commandContext(options: GlobalOptions): CommandContext {
  const { config, file } = loadConfig({ file: options.config });
  return { config, configFile: file, out: createOutput(options) };
}
