import { expect } from 'chai';
import { addEjsonType, CodecError, decode, ejsonClone, ejsonEquals, encode, MAX_DEPTH } from '../../protocol/ejson.js';

/** A custom EJSON type, registered once for this file. */
class Point {
  constructor(readonly x: number, readonly y: number) {}
  typeName(): string {
    return 'ddp-guard-test-point';
  }
  toJSONValue(): unknown {
    return { x: this.x, y: this.y };
  }
  clone(): Point {
    return new Point(this.x, this.y);
  }
  equals(other: unknown): boolean {
    return other instanceof Point && other.x === this.x && other.y === this.y;
  }
}

before(() => {
  addEjsonType('ddp-guard-test-point', (json) => {
    const { x, y } = json as { x: unknown; y: unknown };
    if (typeof x !== 'number' || typeof y !== 'number') throw new Error('a point needs numbers');
    return new Point(x, y);
  });
});

const nest = (open: string, close: string, levels: number, inner = '0'): string => open.repeat(levels) + inner + close.repeat(levels);

describe('protocol/ejson decode', () => {
  const valid: [string, string, unknown][] = [
    ['plain JSON', '{"a":[1,"x",true,null]}', { a: [1, 'x', true, null] }],
    ['$date', '{"$date":1700000000123}', new Date(1700000000123)],
    ['$date 0 (the epoch)', '{"$date":0}', new Date(0)],
    ['$date negative', '{"$date":-86400000}', new Date(-86400000)],
    ['$binary', '{"$binary":"AQID/w=="}', new Uint8Array([1, 2, 3, 255])],
    ['$binary empty', '{"$binary":""}', new Uint8Array([])],
    ['$InfNaN 1', '{"$InfNaN":1}', Infinity],
    ['$InfNaN -1', '{"$InfNaN":-1}', -Infinity],
    ['$InfNaN 0', '{"$InfNaN":0}', NaN],
    ['$regexp', '{"$regexp":"a+b","$flags":"gi"}', /a+b/gi],
    ['$regexp flags first', '{"$flags":"","$regexp":"^x$"}', /^x$/],
    ['$escape keeps $ keys literal', '{"$escape":{"$date":5,"b":{"$date":6}}}', { $date: 5, b: new Date(6) }],
    ['custom $type', '{"$type":"ddp-guard-test-point","$value":{"x":1,"y":2}}', new Point(1, 2)],
    ['types nested in arrays and objects', '{"a":[{"$date":5},{"b":{"$binary":"AA=="}}]}', { a: [new Date(5), { b: new Uint8Array([0]) }] }],
    ['$ key beside others is a plain key', '{"$date":5,"x":1}', { $date: 5, x: 1 }],
    ['words like "constructor" in values are fine', '{"a":"constructor __proto__ prototype"}', { a: 'constructor __proto__ prototype' }],
    ['nesting at MAX_DEPTH', nest('[', ']', MAX_DEPTH), JSON.parse(nest('[', ']', MAX_DEPTH))],
    ['a long text with many brackets inside strings, nested shallowly', JSON.stringify({ a: '[{'.repeat(200) }), { a: '[{'.repeat(200) }],
    ['a 1 KB payload', JSON.stringify({ text: 'x'.repeat(1000), list: [1, [2, [3]]] }), { text: 'x'.repeat(1000), list: [1, [2, [3]]] }],
  ];
  for (const [name, text, expected] of valid) {
    it(`decodes ${name}`, () => {
      const value = decode(text);
      expect(ejsonEquals(value, expected), `${text} → ${String(encode(value))}`).to.equal(true);
    });
  }

  it('decodes to the real classes', () => {
    expect(decode('{"$date":5}')).to.be.instanceOf(Date);
    expect(decode('{"$binary":"AQ=="}')).to.be.instanceOf(Uint8Array);
    expect(decode('{"$regexp":"a","$flags":"m"}')).to.be.instanceOf(RegExp);
    expect(decode('{"$type":"ddp-guard-test-point","$value":{"x":3,"y":4}}')).to.be.instanceOf(Point).and.deep.include({ x: 3, y: 4 });
    expect(Number.isNaN(decode('{"$InfNaN":0}'))).to.equal(true);
  });

  const invalid: [string, string][] = [
    ['not JSON', 'not json'],
    ['truncated JSON', '{"msg":"ping"'],
    ['empty text', ''],
    ['$date as a string', '{"$date":"2024-01-01T00:00:00Z"}'],
    ['$date null', '{"$date":null}'],
    ['$date out of range', '{"$date":1e20}'],
    ['$date as an object', '{"$date":{"$numberLong":"5"}}'],
    ['$binary with non-base64 characters', '{"$binary":"!!!!"}'],
    ['$binary without padding', '{"$binary":"abc"}'],
    ['$binary as a number', '{"$binary":5}'],
    ['$InfNaN other than 1, -1, 0', '{"$InfNaN":2}'],
    ['$regexp with a bad source', '{"$regexp":"(","$flags":""}'],
    ['$regexp with unknown flags', '{"$regexp":"a","$flags":"z"}'],
    ['$regexp with non-string source', '{"$regexp":5,"$flags":""}'],
    ['unknown $type', '{"$type":"no-such-type","$value":1}'],
    ['$type whose factory refuses the value', '{"$type":"ddp-guard-test-point","$value":{"x":"a"}}'],
    ['$escape of a non-object', '{"$escape":5}'],
    ['__proto__ at the top', '{"__proto__":{"polluted":true}}'],
    ['__proto__ nested in an array', '{"msg":"method","params":[{"a":{"__proto__":{"x":1}}}]}'],
    ['constructor key', '{"a":{"constructor":{"prototype":{}}}}'],
    ['prototype key', '[{"prototype":1}]'],
    ['__proto__ inside $escape', '{"$escape":{"__proto__":{"x":1}}}'],
    ['__proto__ inside a custom $type value', '{"$type":"ddp-guard-test-point","$value":{"x":1,"y":2,"__proto__":{"z":1}}}'],
    ['__proto__ beside an EJSON key', '{"$date":1,"__proto__":{}}'],
    ['arrays nested deeper than MAX_DEPTH', nest('[', ']', MAX_DEPTH + 1)],
    ['objects nested deeper than MAX_DEPTH', nest('{"a":', '}', MAX_DEPTH + 1)],
    ['deep nesting with EJSON keys', nest('{"a":', '}', MAX_DEPTH + 1, '{"$date":1}')],
    ['deep nesting through $escape', nest('{"$escape":{"a":', '}}', MAX_DEPTH + 1)],
    ['deep nesting inside a custom $type value', `{"$type":"ddp-guard-test-point","$value":${nest('[', ']', MAX_DEPTH + 1)}}`],
    ['very deep nesting (no stack overflow)', nest('[', ']', 100_000)],
    // Neither bracket kind alone passes MAX_DEPTH: the pre-check must count both.
    ['objects and arrays alternating deeper than MAX_DEPTH', nest('{"a":[', ']}', MAX_DEPTH / 2 + 1)],
    ['deep nesting after a long string', `[${JSON.stringify('x'.repeat(5000))},${nest('[', ']', MAX_DEPTH + 1)}]`],
  ];
  for (const [name, text] of invalid) {
    it(`throws CodecError on ${name}`, () => {
      expect(() => decode(text)).to.throw(CodecError);
    });
  }
});

describe('protocol/ejson encode', () => {
  const table: [string, unknown, string][] = [
    ['plain JSON', { a: [1, 'x', true, null] }, '{"a":[1,"x",true,null]}'],
    ['falsy values kept, undefined omitted', { z: 0, f: false, e: '', n: null, u: undefined }, '{"z":0,"f":false,"e":"","n":null}'],
    ['top-level 0', 0, '0'],
    ['top-level false', false, 'false'],
    ['top-level empty string', '', '""'],
    ['top-level null', null, 'null'],
    ['Date', new Date(1700000000123), '{"$date":1700000000123}'],
    ['Uint8Array', new Uint8Array([1, 2, 3, 255]), '{"$binary":"AQID/w=="}'],
    ['Infinity', Infinity, '{"$InfNaN":1}'],
    ['-Infinity', -Infinity, '{"$InfNaN":-1}'],
    ['NaN', NaN, '{"$InfNaN":0}'],
    ['RegExp', /a+b/gi, '{"$regexp":"a+b","$flags":"gi"}'],
    ['keys starting with $', { $date: 5 }, '{"$escape":{"$date":5}}'],
    ['custom type', new Point(1, 2), '{"$type":"ddp-guard-test-point","$value":{"x":1,"y":2}}'],
    ['types nested, falsy kept beside them', { d: [new Date(5)], z: 0, u: undefined }, '{"d":[{"$date":5}],"z":0}'],
  ];
  for (const [name, value, text] of table) {
    it(`encodes ${name}`, () => {
      expect(encode(value)).to.equal(text);
    });
  }

  it('round-trips every EJSON type through decode', () => {
    const value = { d: new Date(42), b: new Uint8Array([9, 8]), inf: -Infinity, nan: NaN, re: /x/m, p: new Point(5, 6), esc: { $type: 'not-a-type' }, n: [0, false, '', null] };
    const back = decode(encode(value));
    expect(ejsonEquals(back, value)).to.equal(true);
    expect(ejsonEquals(ejsonClone(value), value)).to.equal(true);
  });

  it('encoding does not change the value it is given', () => {
    const value = { when: new Date(7), tags: ['a'] };
    encode(value);
    expect(value.when).to.be.instanceOf(Date);
    expect(value.tags).to.deep.equal(['a']);
  });
});
