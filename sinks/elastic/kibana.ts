/**
 * Kibana saved objects for otwatch, as the NDJSON that Stack Management › Saved objects › Import
 * (or `POST /api/saved_objects/_import`) takes: two data views (findings; every otwatch stream)
 * and a dashboard with findings by severity over time, top rules, top assets and the flows seen
 * (source → destination:port by protocol; OT addresses are private, so a table, not a geo map).
 * The committed copy is kibana/otwatch.ndjson; a test keeps it equal to this output.
 */
const FINDINGS_VIEW = 'otwatch-findings';
const ALL_VIEW = 'otwatch-all';

interface SavedObject {
  type: string;
  id: string;
  attributes: Record<string, unknown>;
  references: { name: string; type: string; id: string }[];
}

const INDEX_REF = 'kibanaSavedObjectMeta.searchSourceJSON.index';

function searchSource(query = ''): string {
  return JSON.stringify({ query: { query, language: 'kuery' }, filter: [], indexRefName: INDEX_REF });
}

const count = { id: '1', enabled: true, type: 'count', schema: 'metric', params: {} };
const terms = (id: string, field: string, size: number, schema: string, label: string) => ({
  id,
  enabled: true,
  type: 'terms',
  schema,
  params: { field, size, order: 'desc', orderBy: '1', otherBucket: false, missingBucket: false, customLabel: label },
});

function visualization(id: string, title: string, view: string, visState: Record<string, unknown>, query = ''): SavedObject {
  return {
    type: 'visualization',
    id,
    attributes: {
      title,
      description: '',
      version: 1,
      uiStateJSON: '{}',
      visState: JSON.stringify({ title, ...visState }),
      kibanaSavedObjectMeta: { searchSourceJSON: searchSource(query) },
    },
    references: [{ name: INDEX_REF, type: 'index-pattern', id: view }],
  };
}

const tableParams = { perPage: 20, showPartialRows: false, showMetricsAtAllLevels: false, showTotal: false, totalFunc: 'sum', percentageCol: '' };

/** Every saved object, in import order (data views before what references them). */
export function kibanaObjects(): SavedObject[] {
  const views: SavedObject[] = [
    { type: 'index-pattern', id: FINDINGS_VIEW, attributes: { title: 'logs-otwatch.finding-*', name: 'otwatch findings', timeFieldName: '@timestamp' }, references: [] },
    { type: 'index-pattern', id: ALL_VIEW, attributes: { title: 'logs-otwatch.*-*', name: 'otwatch (all streams)', timeFieldName: '@timestamp' }, references: [] },
  ];
  const vis: SavedObject[] = [
    visualization('otwatch-findings-by-severity', 'otwatch: findings by severity over time', FINDINGS_VIEW, {
      type: 'histogram',
      params: {
        type: 'histogram',
        addTooltip: true,
        addLegend: true,
        legendPosition: 'right',
        times: [],
        addTimeMarker: false,
        grid: { categoryLines: false },
        categoryAxes: [{ id: 'CategoryAxis-1', type: 'category', position: 'bottom', show: true, scale: { type: 'linear' }, labels: { show: true, filter: true, truncate: 100 }, title: {} }],
        valueAxes: [{ id: 'ValueAxis-1', name: 'LeftAxis-1', type: 'value', position: 'left', show: true, scale: { type: 'linear', mode: 'normal' }, labels: { show: true, rotate: 0, filter: false, truncate: 100 }, title: { text: 'Findings' } }],
        seriesParams: [{ show: true, type: 'histogram', mode: 'stacked', data: { label: 'Findings', id: '1' }, valueAxis: 'ValueAxis-1', drawLinesBetweenPoints: true, showCircles: true }],
      },
      aggs: [
        count,
        { id: '2', enabled: true, type: 'date_histogram', schema: 'segment', params: { field: '@timestamp', interval: 'auto', min_doc_count: 1, extended_bounds: {} } },
        terms('3', 'otwatch.finding.severity', 4, 'group', 'Severity'),
      ],
    }),
    visualization('otwatch-top-rules', 'otwatch: top rules', FINDINGS_VIEW, { type: 'table', params: tableParams, aggs: [count, terms('2', 'rule.id', 20, 'bucket', 'Rule'), terms('3', 'otwatch.finding.severity', 4, 'bucket', 'Severity')] }),
    visualization('otwatch-top-assets', 'otwatch: top assets', FINDINGS_VIEW, { type: 'table', params: tableParams, aggs: [count, terms('2', 'related.ip', 20, 'bucket', 'Asset')] }),
    visualization(
      'otwatch-flows',
      'otwatch: flows (source → destination:port)',
      ALL_VIEW,
      {
        type: 'table',
        params: tableParams,
        aggs: [count, terms('2', 'source.ip', 50, 'bucket', 'Source'), terms('3', 'destination.ip', 50, 'bucket', 'Destination'), terms('4', 'destination.port', 10, 'bucket', 'Port'), terms('5', 'network.protocol', 5, 'bucket', 'Protocol')],
      },
      'NOT event.kind : "asset"',
    ),
  ];
  const grid = [
    { x: 0, y: 0, w: 48, h: 15 },
    { x: 0, y: 15, w: 24, h: 15 },
    { x: 24, y: 15, w: 24, h: 15 },
    { x: 0, y: 30, w: 48, h: 20 },
  ];
  const dashboard: SavedObject = {
    type: 'dashboard',
    id: 'otwatch-overview',
    attributes: {
      title: 'otwatch overview',
      description: 'Findings of the otwatch OT sensors: severity over time, top rules, top assets, flows.',
      version: 1,
      timeRestore: false,
      optionsJSON: JSON.stringify({ useMargins: true, syncColors: false, hidePanelTitles: false }),
      panelsJSON: JSON.stringify(vis.map((_, i) => ({ panelIndex: String(i + 1), gridData: { ...grid[i], i: String(i + 1) }, embeddableConfig: {}, panelRefName: `panel_${i}` }))),
      kibanaSavedObjectMeta: { searchSourceJSON: JSON.stringify({ query: { query: '', language: 'kuery' }, filter: [] }) },
    },
    references: vis.map((v, i) => ({ name: `panel_${i}`, type: 'visualization', id: v.id })),
  };
  return [...views, ...vis, dashboard];
}

/** The NDJSON file content (one object per line, trailing newline). */
export function kibanaNdjson(): string {
  return kibanaObjects().map((o) => JSON.stringify(o)).join('\n') + '\n';
}
