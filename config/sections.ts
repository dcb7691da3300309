/**
 * The sections of the one config file (docs/otwatch.example.jsonc), and how a command finds its
 * own: a file is in the sectioned form when it has any section but `zones` at the top (an
 * older single-command file may carry `zones` beside its own keys), and then the command reads
 * its section; otherwise the whole file is that command's keys.
 */

/** Top-level keys, in the order the example documents them. */
export const SECTIONS = ['data', 'api', 'pki', 'analyzer', 'sensor', 'zones', 'elastic'] as const;
export type Section = (typeof SECTIONS)[number];

/** True when the parsed file is the sectioned one config file. */
export function isSectioned(json: unknown): json is Record<string, unknown> {
  return json !== null && typeof json === 'object' && !Array.isArray(json) && Object.keys(json).some((k) => k !== 'zones' && (SECTIONS as readonly string[]).includes(k));
}

/** The part of a parsed file a command reads: its section of the one file, or the whole file. */
export function configSection(json: unknown, name: Section): { value: unknown; sectioned: boolean } {
  return isSectioned(json) ? { value: json[name], sectioned: true } : { value: json, sectioned: false };
}
