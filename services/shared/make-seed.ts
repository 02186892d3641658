// Generates seed/records.json, the seed of the searchable dataset. Deterministic (seeded PRNG): running
// it again produces the same file. Run: node services/shared/make-seed.ts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DatasetRecord } from './dataset.ts';

const RECORD_COUNT = 3_000;

// mulberry32: a tiny, well-known seeded generator.
function seededRandom(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const random = seededRandom(20_260_427);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const pickSome = <T>(items: readonly T[], count: number): T[] => [...new Set(Array.from({ length: count }, () => pick(items)))];

const categories = ['weather', 'transport', 'energy', 'health', 'finance', 'agriculture', 'education', 'environment'];
const regions = ['north', 'south', 'east', 'west', 'central', 'coastal', 'alpine', 'metropolitan'];
const adjectives = ['daily', 'hourly', 'annual', 'regional', 'historical', 'realtime', 'quarterly', 'monthly', 'open', 'verified'];
const subjects = [
  'rainfall', 'temperature', 'traffic', 'ridership', 'consumption', 'emissions', 'admissions', 'prices',
  'yields', 'enrolment', 'air quality', 'river levels', 'solar output', 'wind speed', 'vaccinations', 'exports',
];
const forms = ['measurements', 'statistics', 'index', 'survey', 'forecast', 'census', 'readings', 'report'];
const tags = ['csv', 'json', 'api', 'geospatial', 'timeseries', 'public', 'licensed', 'aggregated', 'raw', 'archived'];
const verbs = ['collected', 'published', 'compiled', 'validated', 'aggregated', 'sampled'];
const sources = ['sensors', 'field stations', 'operators', 'hospitals', 'schools', 'farms', 'utilities', 'agencies'];

const records: DatasetRecord[] = Array.from({ length: RECORD_COUNT }, (_, index) => {
  const category = pick(categories);
  const region = pick(regions);
  const subject = pick(subjects);
  const name = `${pick(adjectives)} ${subject} ${pick(forms)}`;
  return {
    id: `ds-${String(index + 1).padStart(5, '0')}`,
    name,
    category,
    region,
    year: 2000 + Math.floor(random() * 26),
    tags: pickSome(tags, 3),
    description: `${name[0]!.toUpperCase()}${name.slice(1)} for the ${region} region, ${pick(verbs)} from ${pick(sources)} and ${pick(verbs)} by the ${category} team.`,
  };
});

const file = join(import.meta.dirname, 'seed', 'records.json');
// One record per line: small diffs if the generator changes.
writeFileSync(file, `[\n${records.map((record) => JSON.stringify(record)).join(',\n')}\n]\n`);
console.log(`wrote ${records.length} records to ${file}`);
