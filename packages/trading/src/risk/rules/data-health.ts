import { refusal } from '../refusal.ts';
import type { RiskRule } from '../risk-rule.ts';

/** No entry while the instrument's market-data feed is known unhealthy (the collector's stream heartbeat is missing). */
export const dataHealthRule: RiskRule = {
  name: 'data-health',
  scope: 'instrument',
  entry: (p, env) => (env.dataHealthy ? p : refusal('data_unhealthy', 'market data feed unhealthy (collector heartbeat missing)')),
};
