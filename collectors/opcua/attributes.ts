/**
 * Attribute ids (OPC 10000-6 Annex A.1, OPC 10000-3 §5.9) by name; unknown ids are named
 * `Attribute<n>` (habit 7).
 */
const ATTRIBUTES = [
  '', 'NodeId', 'NodeClass', 'BrowseName', 'DisplayName', 'Description', 'WriteMask', 'UserWriteMask',
  'IsAbstract', 'Symmetric', 'InverseName', 'ContainsNoLoops', 'EventNotifier', 'Value', 'DataType',
  'ValueRank', 'ArrayDimensions', 'AccessLevel', 'UserAccessLevel', 'MinimumSamplingInterval',
  'Historizing', 'Executable', 'UserExecutable', 'DataTypeDefinition', 'RolePermissions',
  'UserRolePermissions', 'AccessRestrictions', 'AccessLevelEx',
];

/** Name of an attribute id. */
export function attributeName(id: number): string {
  return (id > 0 && ATTRIBUTES[id]) || `Attribute${id}`;
}
