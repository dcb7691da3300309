/**
 * The protocols the dispatcher detects, in probe order. Each protocol's options come from the
 * configuration (validated by its factory). Detection is by content; ports are hints only.
 */
import { createMqttSpec, createMqttTlsSpec, type MqttOptions } from './mqtt/index.js';
import { createOpcuaSpec, type OpcuaOptions } from './opcua/index.js';
import { createPubsubSpec, type PubsubOptions } from './pubsub/index.js';
import type { ProtocolSpec } from './types.js';

export interface ProtocolConfig {
  mqtt?: Partial<MqttOptions>;
  opcua?: Partial<OpcuaOptions>;
  pubsub?: Partial<PubsubOptions>;
}

export function defaultProtocols(config: ProtocolConfig = {}): ProtocolSpec[] {
  return [createMqttSpec(config.mqtt), createOpcuaSpec(config.opcua), createMqttTlsSpec(config.mqtt), createPubsubSpec(config.pubsub)];
}
