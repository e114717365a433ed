import { ConfigError } from '../config/config-error.ts';
import type { OptionSchema } from '../config/config-fragment.ts';
import { TAG_PATTERN } from './key-record.ts';

/**
 * Actions chosen by a key's tags, as `TAG=ACTION` config lists (`public=quarantine`): what a leak
 * report does to a key, per tag, over the option's global default. Tags, not a field of each key:
 * a key's tags are already in every store and every key command, so an operator sets the action
 * for a class of keys (publishable, internal) once.
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
