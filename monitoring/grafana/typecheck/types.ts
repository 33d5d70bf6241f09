// Types the generated dashboard modules are checked against.
//
// Grafana's schema spells closed string sets as TypeScript enums
// (ThresholdsMode.Absolute = 'absolute'); a dashboard JSON holds the plain
// string, which TypeScript will not assign to an enum. Json<T> replaces every
// string enum by the union of its values, recursively, and leaves everything
// else as it is — so a misspelt value or an unknown key still fails.
import type { Dashboard, FieldConfigSource, Panel, RowPanel } from '@grafana/schema';
import type * as TimeSeries from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';
import type * as Stat from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';

export type Json<T> = T extends string
  ? `${T}`
  : T extends number | boolean | null | undefined
    ? T
    : T extends ReadonlyArray<infer U>
      ? Array<Json<U>>
      : T extends object
        ? { [K in keyof T]: Json<T[K]> }
        : T;

export type DashboardJson = Json<Dashboard>;

/** Every panel and query must name the provisioned Prometheus data source by uid. */
export type PrometheusRef = { type: 'prometheus'; uid: 'zerotrace-prometheus' };

/** A Prometheus query as Grafana stores it. */
export type PrometheusTarget = {
  refId: string;
  datasource: PrometheusRef;
  expr: string;
  legendFormat?: string;
  range?: boolean;
  instant?: boolean;
  interval?: string;
  hide?: boolean;
};

type PanelBase = Json<Omit<Panel, 'type' | 'options' | 'fieldConfig' | 'targets' | 'datasource'>> & {
  datasource: PrometheusRef;
  targets: PrometheusTarget[];
};

export type TimeSeriesPanel = PanelBase & {
  type: 'timeseries';
  options: Json<TimeSeries.Options>;
  fieldConfig: Json<FieldConfigSource<TimeSeries.FieldConfig>>;
};

export type StatPanel = PanelBase & {
  type: 'stat';
  options: Json<Stat.Options>;
  fieldConfig: Json<FieldConfigSource>;
};

export type RowPanelJson = Json<RowPanel> & { type: 'row' };
