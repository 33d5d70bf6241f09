// zerotrace-otelcol: the OpenTelemetry Collector distribution ZeroTrace builds
// for itself, with exactly the components collector/otel-collector.yaml uses
// (plus `debug` for troubleshooting). The component type names are the same as
// in otelcol-contrib, so the config stays valid for both.
//
// Build (pinned by go.mod/go.sum in this directory; .ci/build-otel-tools.sh
// does this and caches the result):
//
//	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o zerotrace-otelcol .
//
// Run:
//
//	zerotrace-otelcol --config collector/otel-collector.yaml
//	zerotrace-otelcol validate --config collector/otel-collector.yaml
//	zerotrace-otelcol components
package main

import (
	"log"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/healthcheckextension"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/processor/memorylimiterprocessor"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
)

// version names the upstream collector release the components come from.
const version = "0.165.0-zerotrace"

func factories() (otelcol.Factories, error) {
	var f otelcol.Factories
	var err error
	if f.Receivers, err = otelcol.MakeFactoryMap(
		otlpreceiver.NewFactory(), // otlp
	); err != nil {
		return f, err
	}
	if f.Processors, err = otelcol.MakeFactoryMap(
		memorylimiterprocessor.NewFactory(), // memory_limiter
		batchprocessor.NewFactory(),         // batch
	); err != nil {
		return f, err
	}
	if f.Exporters, err = otelcol.MakeFactoryMap(
		otlpexporter.NewFactory(),       // otlp_grpc (deprecated alias: otlp)
		prometheusexporter.NewFactory(), // prometheus
		debugexporter.NewFactory(),      // debug
	); err != nil {
		return f, err
	}
	if f.Extensions, err = otelcol.MakeFactoryMap(
		healthcheckextension.NewFactory(), // health_check
	); err != nil {
		return f, err
	}
	// service::telemetry (the collector's own logs and metrics).
	f.Telemetry = otelconftelemetry.NewFactory()
	return f, nil
}

func main() {
	settings := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     "zerotrace-otelcol",
			Description: "ZeroTrace OpenTelemetry Collector",
			Version:     version,
		},
		Factories: factories,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				// ${VAR} without a scheme means ${env:VAR}, as in otelcol-contrib.
				// (A --config value without a scheme is a file path either way.)
				DefaultScheme: "env",
				ProviderFactories: []confmap.ProviderFactory{
					fileprovider.NewFactory(),
					envprovider.NewFactory(),
					yamlprovider.NewFactory(),
				},
			},
		},
	}
	if err := otelcol.NewCommand(settings).Execute(); err != nil {
		log.Fatal(err)
	}
}
