/**
 * The protocols the dispatcher detects, in probe order. Each protocol's options come from the
 * configuration (validated by its factory).
 */
import type { ProtocolSpec } from './types.js';

export interface ProtocolConfig {
  [proto: string]: Record<string, unknown> | undefined;
}

export function defaultProtocols(_config: ProtocolConfig = {}): ProtocolSpec[] {
  return [];
}
