import path from 'node:path';
import { expect } from 'chai';
import { CliError } from '../../cli/exit-status.js';
import { configPathFrom, loadServeConfig, type ServeConfigInput } from '../../cli/config.js';
import { envVarName, optionFromText } from '../../cli/config-values.js';
import { DEFAULTS } from '../../server/services/options.js';

const FILE = path.resolve('/etc/ddp-guard/config.json');

function load(input: Partial<ServeConfigInput>) {
  return loadServeConfig({ argvOptions: {}, env: {}, configFile: null, ...input });
}

function file(data: unknown): { path: string; text: string } {
  return { path: FILE, text: JSON.stringify(data) };
}

function failure(input: Partial<ServeConfigInput>): CliError {
  try {
    load(input);
  } catch (err) {
    expect(err).to.be.instanceOf(CliError);
    return err as CliError;
  }
  return expect.fail('expected a CliError');
}

describe('cli/config: loadServeConfig', () => {
  it('uses the defaults when nothing is set', () => {
    const config = load({});
    expect(config.options).to.deep.equal({});
    expect(config.resolved.port).to.equal(DEFAULTS.port);
    expect(config.resolved.db).to.equal(DEFAULTS.db);
    expect(config.app).to.equal(null);
    expect(config.logLevel).to.equal('info');
    expect(config.warnings).to.deep.equal([]);
  });

  it('applies defaults < config file < environment < flags', () => {
    const configFile = file({ port: 1000, host: '0.0.0.0', bcryptCost: 12, trustedClientMs: 1000, signup: true });
    const env = { DDP_GUARD_PORT: '2000', DDP_GUARD_HOST: '::1', DDP_GUARD_BCRYPT_COST: '5' };
    const argvOptions = { port: '3001' };
    const config = load({ configFile, env, argvOptions });
    expect(config.resolved.port).to.equal(3001); // flag
    expect(config.resolved.host).to.equal('::1'); // env over file
    expect(config.resolved.bcryptCost).to.equal(5); // env over file
    expect(config.resolved.trustedClientMs).to.equal(1000); // file over default
    expect(config.resolved.signup).to.equal(true); // file
    expect(config.resolved.totpWindow).to.equal(DEFAULTS.totpWindow); // default
    expect(config.options).to.deep.equal({ port: 3001, host: '::1', bcryptCost: 5, trustedClientMs: 1000, signup: true });
  });

  it('--no-signup (false) beats the environment, which beats the file', () => {
    expect(load({ configFile: file({ signup: false }), env: { DDP_GUARD_SIGNUP: 'yes' } }).resolved.signup).to.equal(true);
    expect(load({ env: { DDP_GUARD_SIGNUP: 'true' }, argvOptions: { signup: false } }).resolved.signup).to.equal(false);
  });

  it('maps the flags --smtp and --public-url to smtpUrl and publicUrl', () => {
    const config = load({ argvOptions: { smtp: 'smtp://mail:587', publicUrl: 'https://chat.example.com', db: 'memory' } });
    expect(config.options).to.deep.equal({ smtpUrl: 'smtp://mail:587', publicUrl: 'https://chat.example.com', db: 'memory' });
  });

  it('reads every option from DDP_GUARD_<UPPER_SNAKE_CASE>, parsing numbers and booleans', () => {
    const config = load({
      env: {
        DDP_GUARD_SMTP_URL: 'smtps://u:p@mail:465',
        DDP_GUARD_SECRET: 'a'.repeat(64),
        DDP_GUARD_MAX_FRAME_BYTES: '2048',
        DDP_GUARD_PER_MESSAGE_DEFLATE: 'on',
        DDP_GUARD_SOCKJS: '0',
        DDP_GUARD_ALLOWED_ORIGINS: 'https://a.example, https://b.example',
        DDP_GUARD_APP: './app.js',
        DDP_GUARD_LOG_LEVEL: 'warn',
      },
    });
    expect(config.resolved.smtpUrl).to.equal('smtps://u:p@mail:465');
    expect(config.resolved.secret).to.equal('a'.repeat(64));
    expect(config.resolved.maxFrameBytes).to.equal(2048);
    expect(config.resolved.perMessageDeflate).to.equal(true);
    expect(config.resolved.sockjs).to.equal(false);
    expect(config.resolved.allowedOrigins).to.deep.equal(['https://a.example', 'https://b.example']);
    expect(config.app).to.equal('./app.js');
    expect(config.logLevel).to.equal('warn');
  });

  it('treats an empty environment variable as unset', () => {
    expect(load({ env: { DDP_GUARD_PORT: '', DDP_GUARD_SMTP_URL: '' } }).options).to.deep.equal({});
  });

  it('names the environment variable of a bad value, with exit status 2', () => {
    const err = failure({ env: { DDP_GUARD_PORT: 'abc' } });
    expect(err.exitCode).to.equal(2);
    expect(err.message).to.contain('DDP_GUARD_PORT').and.to.contain("'port'").and.to.contain('"abc"');
  });

  it('names the flag of a bad value', () => {
    const err = failure({ argvOptions: { port: '70000' } });
    expect(err.exitCode).to.equal(2);
    expect(err.message).to.contain('--port').and.to.contain('0 to 65535');
    expect(failure({ argvOptions: { smtp: 'http://mail' } }).message).to.contain('--smtp');
    expect(failure({ argvOptions: { logLevel: 'loud' } }).message).to.contain('--log-level');
  });

  it('names the config file and key of a bad value', () => {
    const err = failure({ configFile: file({ bcryptCost: 99 }) });
    expect(err.message).to.contain(FILE).and.to.contain('"bcryptCost"');
  });

  it('does not complain about a bad value that a later layer replaces', () => {
    expect(load({ env: { DDP_GUARD_PORT: 'abc' }, argvOptions: { port: '0' } }).resolved.port).to.equal(0);
  });

  it('rejects unknown keys, JSON errors and non-objects in the config file', () => {
    expect(failure({ configFile: file({ prot: 1 }) }).message).to.match(/unknown key "prot"/);
    expect(failure({ configFile: { path: FILE, text: '{"port": 1,' } }).message).to.match(/not valid JSON/);
    expect(failure({ configFile: file([1, 2]) }).message).to.match(/must hold a JSON object/);
  });

  it('resolves paths in the config file against its folder, but not memory or URLs', () => {
    const folder = path.dirname(FILE);
    const config = load({ configFile: file({ db: 'data/x.sqlite', outboxDir: '../outbox', app: './app.js' }) });
    expect(config.resolved.db).to.equal(path.join(folder, 'data/x.sqlite'));
    expect(config.resolved.outboxDir).to.equal(path.resolve(folder, '../outbox'));
    expect(config.app).to.equal(path.join(folder, 'app.js'));
    expect(load({ configFile: file({ db: ':memory:' }) }).resolved.db).to.equal(':memory:');
    expect(load({ configFile: file({ db: 'postgres://h/db', secret: '7a'.repeat(32) }) }).resolved.db).to.equal('postgres://h/db');
    // Flags and environment stay relative to the working directory.
    expect(load({ argvOptions: { db: 'rel.sqlite' } }).resolved.db).to.equal('rel.sqlite');
  });

  it('warns about unknown DDP_GUARD_ variables instead of ignoring typos silently', () => {
    const config = load({ env: { DDP_GUARD_PROT: '1', DDP_GUARD_CONFIG: 'x.json', OTHER: '1' } });
    expect(config.warnings).to.have.length(1);
    expect(config.warnings[0]).to.contain('DDP_GUARD_PROT');
  });

  it('takes the config file from --config, else DDP_GUARD_CONFIG', () => {
    expect(configPathFrom({ config: 'a.json' }, { DDP_GUARD_CONFIG: 'b.json' })).to.equal('a.json');
    expect(configPathFrom({}, { DDP_GUARD_CONFIG: 'b.json' })).to.equal('b.json');
    expect(configPathFrom({}, {})).to.equal(null);
  });
});

describe('cli/config-values', () => {
  it('names environment variables in UPPER_SNAKE_CASE', () => {
    expect(envVarName('port')).to.equal('DDP_GUARD_PORT');
    expect(envVarName('smtpUrl')).to.equal('DDP_GUARD_SMTP_URL');
    expect(envVarName('maxFrameBytes')).to.equal('DDP_GUARD_MAX_FRAME_BYTES');
  });

  it('parses text by the type of the default and leaves unparsable text for the validator', () => {
    expect(optionFromText('port', ' 42 ')).to.equal(42);
    expect(optionFromText('port', '0x10')).to.equal('0x10');
    expect(optionFromText('signup', 'No')).to.equal(false);
    expect(optionFromText('signup', 'maybe')).to.equal('maybe');
    expect(optionFromText('host', ' h ')).to.equal(' h ');
  });
});
