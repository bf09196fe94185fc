import { defineSiemConnector, remoteSiemPolling, searchOnly } from '../../core/index.js';
import { ElasticSiemOptions } from './schema.js';

export const elasticSiem = defineSiemConnector({
  id: 'elastic',
  displayName: 'Elasticsearch / OpenSearch',
  optionsSchema: ElasticSiemOptions,
  docs: { summary: 'Elasticsearch, Elastic Security, OpenSearch', guide: 'docs/connectors/elastic.md' },
  capabilities: { ...searchOnly.linked, closeAlerts: true },
  // Elastic's prebuilt rules run every 5 minutes over now-9m.
  polling: remoteSiemPolling,
  dialect: () => 'elastic',
  load: () => import('./connector.js'),
});
