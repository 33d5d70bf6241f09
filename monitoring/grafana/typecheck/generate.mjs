// Writes one TypeScript module per dashboard in ../dashboards into
// ./generated, so that `tsc --noEmit` checks each of them against
// @grafana/schema: every panel literal `satisfies` the type of its panel
// plugin (timeseries, stat, row: anything else is an error), and the
// dashboard literal `satisfies` Dashboard. Node only, no dependencies.
import { readdirSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dashboards = join(here, '..', 'dashboards');
const out = join(here, 'generated');

const panelTypes = { timeseries: 'TimeSeriesPanel', stat: 'StatPanel', row: 'RowPanelJson' };

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const files = readdirSync(dashboards).filter((f) => f.endsWith('.json')).sort();
if (files.length === 0) {
  console.error(`no dashboards in ${dashboards}`);
  process.exit(1);
}

for (const file of files) {
  const dashboard = JSON.parse(readFileSync(join(dashboards, file), 'utf8'));
  const panels = dashboard.panels ?? [];
  const lines = [
    `// Generated from monitoring/grafana/dashboards/${file} by generate.mjs: do not edit.`,
    `import type { DashboardJson, RowPanelJson, StatPanel, TimeSeriesPanel } from '../types';`,
    '',
  ];
  panels.forEach((panel, i) => {
    const type = panelTypes[panel.type];
    if (!type) {
      // Force a type error that names the panel rather than skipping it.
      lines.push(`const p${i}: 'unsupported panel type' = ${JSON.stringify(panel.type)};`);
      return;
    }
    lines.push(`const p${i} = ${JSON.stringify(panel, null, 2)} satisfies ${type};`, '');
  });
  const { panels: _omit, ...rest } = dashboard;
  const body = JSON.stringify(rest, null, 2).replace(/\n}$/, `,\n  "panels": [${panels.map((_, i) => `p${i}`).join(', ')}]\n}`);
  lines.push(`export const dashboard = ${body} satisfies DashboardJson;`, '');
  const name = basename(file, '.json').replace(/[^A-Za-z0-9]/g, '_');
  writeFileSync(join(out, `${name}.ts`), lines.join('\n'));
}
console.log(`generated ${files.length} dashboard module(s) in ${out}`);
