import { expect } from 'chai';
import { AdminError } from '../../server/accounts/admin.js';
import { ValidationError } from '../../server/accounts/validation.js';
import { CliError, describeError, EXIT } from '../../cli/exit-status.js';
import { formatTable } from '../../cli/table.js';
import { databaseKind, describeDatabase, describeMail } from '../../cli/database.js';
import { OptionError } from '../../server/services/options.js';
import { StoreUnavailableError } from '../../server/storage/store-errors.js';

describe('cli/errors: describeError', () => {
  it('gives each kind of failure its exit status and one sentence', () => {
    expect(describeError(new CliError('Bad flag.', EXIT.usage))).to.deep.equal({ message: 'Bad flag.', exitCode: 2 });
    expect(describeError(new AdminError('user-not-found', "no user 'x'"))).to.deep.equal({
      message: "No user 'x': check the name with 'ddp-guard user list' and the database with --db.",
      exitCode: 3,
    });
    expect(describeError(new AdminError('username-taken', "username 'x' is taken")).exitCode).to.equal(4);
    expect(describeError(new ValidationError('email', 'Not an address.'))).to.deep.equal({ message: 'Not an address.', exitCode: 2 });
    expect(describeError(new OptionError('port', 'expected a number')).exitCode).to.equal(2);
    expect(describeError(new StoreUnavailableError('database is locked')).message).to.match(/^The database is unavailable \(database is locked\)/);
    expect(describeError(new Error('boom'))).to.deep.equal({ message: 'Boom.', exitCode: 1 });
    expect(describeError('weird').exitCode).to.equal(1);
  });
});

describe('cli/table and cli/database', () => {
  it('pads columns to the widest cell, counting ✓ as one character', () => {
    expect(formatTable(['A', 'BB'], [['xyz ✓', '1'], ['x', '22']])).to.deep.equal(['A      BB', 'xyz ✓  1', 'x      22']);
  });

  it('describes databases and mail without showing passwords', () => {
    expect(databaseKind('memory')).to.equal('memory');
    expect(databaseKind(':memory:')).to.equal('sqlite-memory');
    expect(databaseKind('postgresql://h/db')).to.equal('postgres');
    expect(describeDatabase('data/x.sqlite', '/srv')).to.equal('SQLite file /srv/data/x.sqlite');
    expect(describeDatabase('postgres://u:secret@h/db', '/')).to.equal('PostgreSQL postgres://u:***@h/db');
    expect(describeMail('smtp://u:secret@mail:587', 'o', '/')).to.equal('mail via smtp://u:***@mail:587');
    expect(describeMail(null, 'data/outbox', '/srv')).to.equal('mail to the outbox /srv/data/outbox');
  });
});
