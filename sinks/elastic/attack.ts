/**
 * MITRE ATT&CK for ICS: names and tactics of the technique ids our rules cite (analyzers/rules.ts),
 * for the ECS `threat.*` fields. An id missing here still ships (id only, name 'unknown'), so a new
 * rule never breaks the sink; test/sinks/documents.test.ts checks every rule's ids are listed.
 */
export const ICS_TACTICS: Readonly<Record<string, string>> = {
  TA0100: 'Collection',
  TA0102: 'Discovery',
  TA0103: 'Evasion',
  TA0104: 'Execution',
  TA0105: 'Impact',
  TA0106: 'Impair Process Control',
  TA0107: 'Inhibit Response Function',
  TA0108: 'Initial Access',
  TA0109: 'Lateral Movement',
  TA0110: 'Persistence',
};

/** Technique id → [name, tactic ids]. */
export const ICS_TECHNIQUES: Readonly<Record<string, readonly [string, readonly string[]]>> = {
  T0801: ['Monitor Process State', ['TA0100']],
  T0804: ['Block Reporting Message', ['TA0107']],
  T0813: ['Denial of Control', ['TA0105']],
  T0814: ['Denial of Service', ['TA0107']],
  T0815: ['Denial of View', ['TA0105']],
  T0820: ['Exploitation for Evasion', ['TA0103']],
  T0826: ['Loss of Availability', ['TA0105']],
  T0827: ['Loss of Control', ['TA0105']],
  T0829: ['Loss of View', ['TA0105']],
  T0830: ['Adversary-in-the-Middle', ['TA0100']],
  T0831: ['Manipulation of Control', ['TA0105']],
  T0832: ['Manipulation of View', ['TA0105']],
  T0836: ['Modify Parameter', ['TA0106']],
  T0842: ['Network Sniffing', ['TA0102']],
  T0846: ['Remote System Discovery', ['TA0102']],
  T0849: ['Masquerading', ['TA0103']],
  T0855: ['Unauthorized Command Message', ['TA0106']],
  T0856: ['Spoof Reporting Message', ['TA0103']],
  T0859: ['Valid Accounts', ['TA0110', 'TA0109']],
  T0861: ['Point & Tag Identification', ['TA0100']],
  T0866: ['Exploitation of Remote Services', ['TA0108', 'TA0109']],
  T0871: ['Execution through API', ['TA0104']],
  T0886: ['Remote Services', ['TA0108', 'TA0109']],
  T0889: ['Modify Program', ['TA0110']],
};

/** The ECS `threat` object of a finding's ATT&CK ids (undefined when it cites none). */
export function threatOf(ids: readonly string[]): Record<string, unknown> | undefined {
  if (ids.length === 0) return undefined;
  const tactics = new Set<string>();
  for (const id of ids) for (const t of ICS_TECHNIQUES[id]?.[1] ?? []) tactics.add(t);
  const tac = [...tactics].sort();
  const threat: Record<string, unknown> = {
    framework: 'MITRE ATT&CK',
    technique: {
      id: [...ids],
      name: ids.map((id) => ICS_TECHNIQUES[id]?.[0] ?? 'unknown'),
      reference: ids.map((id) => `https://attack.mitre.org/techniques/${id}/`),
    },
  };
  if (tac.length) threat.tactic = { id: tac, name: tac.map((t) => ICS_TACTICS[t]), reference: tac.map((t) => `https://attack.mitre.org/tactics/${t}/`) };
  return threat;
}
