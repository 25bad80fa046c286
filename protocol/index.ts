/** ddp-guard/protocol: message types, validators, the EJSON codec, errors, 2FA wire types. */
export * from './constants.js';
export * from './messages.js';
export * from './errors.js';
export * from './ejson.js';
export * from './validate.js';
export * from './two-factor.js';
export * from './account.js';
