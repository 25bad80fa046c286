import { randomInt } from 'node:crypto';

/** Meteor's `Random.id()` alphabet: no easily confused characters (0/O, 1/l/I…). */
export const ID_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz';

/** Length of a Meteor-style id. */
export const ID_LENGTH = 17;

/** A Meteor-style random id from a cryptographic source (ids are unguessable). */
export function randomId(length = ID_LENGTH): string {
  let id = '';
  // randomInt is unbiased, unlike `byte % alphabet.length`.
  for (let i = 0; i < length; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

/**
 * The key usernames and email addresses are compared by. Full Unicode lower-casing in JS
 * (SQLite's NOCASE only folds ASCII), so every store agrees on what a duplicate is.
 */
export function foldCase(value: string): string {
  return value.toLowerCase();
}
