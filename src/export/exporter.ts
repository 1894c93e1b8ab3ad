// `serve`'s Prometheus side: the metric families over the device registry,
// rendered in the format a scraper asks for, and the burst log. The
// registry is the state; this only reads and follows it.

import type { Logger } from '../log.js';
import type { DeviceRegistry } from '../state/device-registry.js';
import { burstLog } from './burst-log.js';
import { registerMetrics, type MetricsOptions } from './metrics/index.js';
import { Exposition } from './metrics/registry.js';

export interface ExporterOptions extends MetricsOptions {
  readonly log: Logger;
  /** prom-client's default process and Node.js metrics (default on). */
  readonly defaultMetrics?: boolean;
}

export class Exporter {
  readonly exposition: Exposition;
  private readonly metrics: { prepare(): void };

  constructor(
    readonly registry: DeviceRegistry,
    opts: ExporterOptions,
  ) {
    this.exposition = new Exposition({ defaultMetrics: opts.defaultMetrics ?? true });
    this.metrics = registerMetrics({ registry, opts }, this.exposition);
    registry.addListener(burstLog(registry, opts.log));
  }

  /** Renders in the format the Accept header prefers; returns [content type, body]. */
  async render(accept: string | undefined): Promise<[string, string | Buffer]> {
    this.metrics.prepare();
    return this.exposition.render(accept);
  }

  /** The text formats only (what tests and tools that read the text ask for). */
  async renderText(accept: string | undefined): Promise<[string, string]> {
    this.metrics.prepare();
    return this.exposition.renderText(accept);
  }
}
