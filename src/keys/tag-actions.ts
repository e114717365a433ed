import { ConfigError } from '../config/config-error.ts';
import type { OptionSchema } from '../config/config-fragment.ts';
import { TAG_PATTERN } from './key-record.ts';

/**
 * Actions chosen by a key's tags, as `TAG=ACTION` config lists (`public=quarantine`): what a leak
 * report does to a key, per tag, over the option's global default. Tags set the action for a
 * class of keys (publishable, internal) once; a key's own `leakAction` overrides both for that
 * key alone (`actionForKey`).
 */

/** The schema of a `TAG=ACTION` list, empty by default, each entry checked by pattern. */
export function tagActionsOption(actions: readonly string[], description: string): OptionSchema {
  return { type: 'array', items: { type: 'string', pattern: `^${TAG_PATTERN.source.slice(1, -1)}=(${actions.join('|')})$` }, default: [], description };
}

/** The list as a map; a tag given two different actions is a config error naming `field`. */
export function readTagActions<Action extends string>(field: string, entries: readonly string[]): ReadonlyMap<string, Action> {
  const actions = new Map<string, Action>();
  for (const entry of entries) {
    const separator = entry.lastIndexOf('=');
    const tag = entry.slice(0, separator);
    const action = entry.slice(separator + 1) as Action;
    const earlier = actions.get(tag);
    if (earlier !== undefined && earlier !== action) throw new ConfigError([`${field}: tag "${tag}" is given two actions (${earlier} and ${action})`]);
    actions.set(tag, action);
  }
  return actions;
}

/**
 * The action for a key with these tags: the strongest (latest in `strength`) of its tags'
 * actions, else `fallback`. Strongest wins so that adding a tag never weakens what a key gets
 * by another of its tags.
 */
export function actionForTags<Action extends string>(tags: readonly string[], fallback: Action, tagActions: ReadonlyMap<string, Action>, strength: readonly Action[]): Action {
  let strongest: Action | null = null;
  for (const tag of tags) {
    const action = tagActions.get(tag);
    if (action !== undefined && (strongest === null || strength.indexOf(action) > strength.indexOf(strongest))) strongest = action;
  }
  return strongest ?? fallback;
}

/**
 * The action for a key: its own (`leakAction`, set per key) over its tags' (`actionForTags`)
 * over `fallback`, the option's global default. The most specific setting wins, so an operator
 * can weaken one key below its tags (a test key a scanner keeps reporting) as well as harden
 * it. A source whose actions do not include the key's own (`notify` on a leak report, which
 * always holds the key) takes its weakest action instead: the key's choice, as near as the
 * source allows.
 */
export function actionForKey<Action extends string>(record: { readonly tags: readonly string[]; readonly leakAction: string | null }, fallback: Action, tagActions: ReadonlyMap<string, Action>, strength: readonly Action[]): Action {
  const own = record.leakAction;
  if (own === null) return actionForTags(record.tags, fallback, tagActions, strength);
  return strength.includes(own as Action) ? (own as Action) : (strength[0] as Action);
}
