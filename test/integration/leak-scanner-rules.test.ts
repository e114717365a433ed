/**
 * The gitleaks, TruffleHog and GitHub secret-scanning rules in docs/leaks.md, read from the
 * page itself (so the page and this test cannot drift), tested against generated keys,
 * lookalikes and random strings. gitleaks and TruffleHog are not packaged by Debian, so the
 * expressions they embed are run here with JavaScript's engine, after checking they use only
 * syntax that means the same in RE2 (Go's engine, theirs): no look-around, no back-references.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { BASE62_ALPHABET, encodeBase62Number } from '../../src/keys/base62.ts';
import { generateKey } from '../../src/keys/key-format.ts';
import { findKeysIn } from '../../src/keys/key-search.ts';
import { PROJECT_ROOT } from '../support/processes.ts';

const page = readFileSync(join(PROJECT_ROOT, 'docs', 'leaks.md'), 'utf8');

/** The fenced code blocks of the page with this info string. */
function blocks(info: string): string[] {
  return [...page.matchAll(new RegExp('^```' + info + '\\n([\\s\\S]*?)^```$', 'gm'))].map((match) => match[1] as string);
}

function gitleaksRule(): { regex: string; keywords: string[] } {
  const [toml] = blocks('toml');
  assert.ok(toml, 'docs/leaks.md has a toml block');
  const regex = /^regex = '''(.*)'''$/m.exec(toml)?.[1];
  const keywords = /^keywords = \[(.*)\]$/m.exec(toml)?.[1];
  assert.ok(regex !== undefined && keywords !== undefined, 'the gitleaks rule has a regex and keywords');
  assert.match(toml, /^\[\[rules\]\]\nid = "portcullis-api-key"\n/);
  return { regex, keywords: JSON.parse(`[${keywords}]`) as string[] };
}

function truffleHogDetector(): { regex: string; keywords: string[] } {
  const [yaml] = blocks('yaml').filter((text) => text.startsWith('detectors:'));
  assert.ok(yaml, 'docs/leaks.md has the TruffleHog detectors block');
  const { detectors } = parseYaml(yaml) as { detectors: Array<{ name: string; keywords: string[]; regex: Record<string, string> }> };
  assert.equal(detectors.length, 1);
  const [detector] = detectors as [(typeof detectors)[number]];
  assert.deepEqual(Object.keys(detector.regex), ['key']);
  return { regex: detector.regex.key as string, keywords: detector.keywords };
}

function gitHubPattern(): { secret: string; before: string; after: string } {
  const [text] = blocks('text').filter((block) => block.includes('Secret format:'));
  assert.ok(text, 'docs/leaks.md has the GitHub custom pattern');
  const field = (label: string) => {
    const value = new RegExp(`^${label}: (.*)$`, 'm').exec(text)?.[1];
    assert.ok(value !== undefined, `the GitHub pattern has "${label}"`);
    return value;
  };
  return { secret: field('Secret format'), before: field('Before secret'), after: field('After secret') };
}

/** Each rule as a matcher returning the secrets it reports in a text, as the tool would. */
function matchers(): Array<{ tool: string; secretsIn: (text: string) => string[] }> {
  const gitleaks = new RegExp(gitleaksRule().regex, 'g');
  const truffleHog = new RegExp(truffleHogDetector().regex, 'g');
  const github = gitHubPattern();
  // GitHub anchors the secret between its before and after expressions; \A and \z are ^ and $ without multiline.
  const gitHub = new RegExp(`(?:${github.before.replace('\\A', '^')})(${github.secret})(?=${github.after.replace('\\z', '$')})`, 'g');
  return [
    { tool: 'gitleaks', secretsIn: (text) => [...text.matchAll(gitleaks)].map((match) => match[0]) },
    { tool: 'TruffleHog', secretsIn: (text) => [...text.matchAll(truffleHog)].map((match) => match[0]) },
    { tool: 'GitHub', secretsIn: (text) => [...text.matchAll(gitHub)].map((match) => match[1] as string) },
  ];
}

function randomText(alphabet: string, length: number): string {
  return Array.from({ length }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('');
}

function withWrongChecksum(key: string): string {
  const head = key.slice(0, -6);
  return head + encodeBase62Number((crc32(head) + 1) % 2 ** 32, 6);
}

describe('secret-scanner rules in docs/leaks.md', () => {
  it('use one expression, in syntax RE2 reads as JavaScript does, with a keyword every key holds', () => {
    const { regex, keywords } = gitleaksRule();
    const truffleHog = truffleHogDetector();
    assert.equal(truffleHog.regex, regex, 'gitleaks and TruffleHog use the same expression');
    assert.equal(`\\b${gitHubPattern().secret}\\b`, regex, 'GitHub\'s secret format is the same expression without the word boundaries');
    for (const expression of [regex, gitHubPattern().secret]) {
      assert.doesNotMatch(expression, /\(\?[=!<]|\\[1-9]|\(\?i/, 'no look-around, back-reference or case folding');
    }
    assert.deepEqual(keywords, ['pcl_']);
    assert.deepEqual(truffleHog.keywords, ['pcl_']);
  });

  for (const { tool, secretsIn } of matchers()) {
    it(`${tool}: finds generated keys, whole, wherever a key is usually written`, () => {
      for (let round = 0; round < 300; round++) {
        const key = generateKey(['pcl', 'pcl_live', 'pcl_test', 'pcl_eu1'][round % 4] as string);
        for (const text of [key, `API_KEY=${key}\n`, `"key": "${key}",`, `Authorization: Bearer ${key}`, `https://api.example.test/v1?api_key=${key}&x=1`, `key: '${key}'`, `\t${key}\r\n`]) {
          assert.deepEqual(secretsIn(text), [key], `${tool} in ${JSON.stringify(text.replace(key, 'KEY'))}`);
        }
      }
    });

    it(`${tool}: ignores other shapes and 10,000 random high-entropy strings`, () => {
      const key = generateKey('pcl');
      const random = key.slice(4);
      for (const text of [
        `acme_${random}`,
        `PCL_${random}`,
        `pcl_${random.slice(1)}`,
        `pcl_${random}0`,
        `pcl_${random.slice(0, 20)}-${random.slice(21)}`,
        `xpcl_${random}`,
        `${key}x`,
        `pcl_LIVE_${random}`,
      ]) {
        assert.deepEqual(secretsIn(text), [], `${tool} in ${text}`);
      }
      for (let index = 0; index < 10_000; index++) {
        const text = index % 2 === 0 ? randomText(BASE62_ALPHABET, 40 + (index % 40)) : randomText(`${BASE62_ALPHABET}-_`, 40 + (index % 40));
        assert.deepEqual(secretsIn(text), [], `${tool} in ${text}`);
      }
    });

    it(`${tool}: matches lookalikes with a wrong checksum (a regex cannot check it), which portcullis scan does not report`, () => {
      for (let round = 0; round < 100; round++) {
        const lookalike = withWrongChecksum(generateKey(round % 2 === 0 ? 'pcl' : 'pcl_live'));
        const invented = `pcl_${randomText(BASE62_ALPHABET, 49)}`;
        for (const text of [` ${lookalike} `, ` ${invented} `]) {
          assert.equal(secretsIn(text).length, 1, `${tool} matches the shape`);
          assert.deepEqual(findKeysIn(text), [], 'portcullis scan checks the checksum');
        }
      }
    });
  }

  it('the GitHub pattern also finds a key glued to a preceding "_", which the word-boundary rules miss', () => {
    const key = generateKey('pcl');
    const [gitleaks, truffleHog, gitHub] = matchers() as [ReturnType<typeof matchers>[number], ReturnType<typeof matchers>[number], ReturnType<typeof matchers>[number]];
    assert.deepEqual(gitHub.secretsIn(`MY_KEY_${key}`), [key]);
    assert.deepEqual(gitleaks.secretsIn(`MY_KEY_${key}`), []);
    assert.deepEqual(truffleHog.secretsIn(`MY_KEY_${key}`), []);
    assert.deepEqual(findKeysIn(`MY_KEY_${key}`).map((found) => found.key), [key]);
  });
});
