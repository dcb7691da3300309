/** What every rule module gets: the configuration and the finding set. */
import type { AnalyzerConfig } from './config.js';
import type { FindingSet } from './findings.js';

export interface RuleContext {
  readonly cfg: AnalyzerConfig;
  readonly findings: FindingSet;
}
