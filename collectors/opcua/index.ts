/**
 * OPC UA binary passive decoder (UACP, UASC, services, certificates). See README.md for the
 * events and error codes.
 */
import type { EventSink, FlowContext, ProtocolSpec, StreamConsumer } from '../types.js';
import { OpcuaFlow } from './flow.js';
import { validateOptions, type OpcuaOptions } from './options.js';
import { probeOpcua } from './probe.js';

export type { OpcuaOptions } from './options.js';
export { DEFAULT_OPTIONS } from './options.js';
export { serviceById, allServices } from './services.js';
export type { OpcuaErrorCode, OpcuaAnomaly } from './output.js';

/** The OPC UA protocol for the dispatcher; options are validated here, once. */
export function createOpcuaSpec(opts?: Partial<OpcuaOptions>): ProtocolSpec {
  const o = validateOptions(opts);
  return {
    proto: 'opcua',
    probe: probeOpcua,
    create(ctx: FlowContext, emit: EventSink): StreamConsumer {
      return new OpcuaFlow(ctx, emit, o);
    },
  };
}
