// A minimal D-Bus client (session bus, method calls only) for the one thing @napi-rs/keyring cannot
// do: find Secret Service items by attributes it does not know. keytar-era entries carry
// `service`/`account` where the library looks for `service`/`username` (keytar-items.ts); no
// secret is read or written here, only item attributes. Node built-ins only, little-endian
// messages, EXTERNAL authentication (the uid), no file descriptors, no signals.

import { connect, type Socket } from 'node:net';

/** A value of a D-Bus type: numbers, strings (s, o, g), arrays, structs/dict entries as arrays, variants as [signature, value]. */
export type DBusValue = number | bigint | boolean | string | DBusValue[] | Map<string, DBusValue> | Variant;
export interface Variant {
  signature: string;
  value: DBusValue;
}

/** An error reply: `errorName` is the D-Bus error name (org.freedesktop.DBus.Error.UnknownMethod, …). */
export class DBusError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(`${errorName}: ${message}`);
  }
}

const METHOD_CALL = 1;
const METHOD_RETURN = 2;
const ERROR = 3;
const FIELD = { path: 1, interface: 2, member: 3, errorName: 4, replySerial: 5, destination: 6, signature: 8 } as const;

/**
 * The session bus's Unix socket, from DBUS_SESSION_BUS_ADDRESS (`unix:path=…` or
 * `unix:abstract=…`, the first of a `;` list that we can use), else `$XDG_RUNTIME_DIR/bus`.
 */
export function sessionBusSocket(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const address of (env.DBUS_SESSION_BUS_ADDRESS ?? '').split(';')) {
    const match = /^unix:(.*)$/.exec(address);
    if (!match) continue;
    const keys = new Map(match[1]!.split(',').map((pair) => pair.split('=', 2) as [string, string]));
    if (keys.has('path')) return unescapeAddress(keys.get('path')!);
    if (keys.has('abstract')) return `\0${unescapeAddress(keys.get('abstract')!)}`;
  }
  return env.XDG_RUNTIME_DIR ? `${env.XDG_RUNTIME_DIR}/bus` : undefined;
}

export class DBusConnection {
  private serial = 0;
  private buffer = Buffer.alloc(0);
  private readonly waiting = new Map<number, { resolve: (body: DBusValue[]) => void; reject: (error: Error) => void }>();
  private failure: Error | undefined;

  private constructor(private readonly socket: Socket) {}

  static async open(socketPath: string): Promise<DBusConnection> {
    const socket = connect(socketPath);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const connection = new DBusConnection(socket);
    try {
      await connection.authenticate();
      await connection.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello' });
    } catch (error) {
      connection.close();
      throw error;
    }
    return connection;
  }

  close(): void {
    this.socket.destroy();
  }

  call(message: { destination: string; path: string; interface: string; member: string; signature?: string; body?: DBusValue[] }): Promise<DBusValue[]> {
    if (this.failure) return Promise.reject(this.failure);
    const serial = ++this.serial;
    const body = new Writer();
    if (message.signature) body.write(message.signature, message.body ?? []);
    const fields: DBusValue[] = [
      [FIELD.path, { signature: 'o', value: message.path }],
      [FIELD.interface, { signature: 's', value: message.interface }],
      [FIELD.member, { signature: 's', value: message.member }],
      [FIELD.destination, { signature: 's', value: message.destination }],
    ];
    if (message.signature) fields.push([FIELD.signature, { signature: 'g', value: message.signature }]);
    const header = new Writer();
    header.write('yyyyuua(yv)', [0x6c, METHOD_CALL, 0, 1, body.length, serial, fields]);
    header.align(8);
    return new Promise((resolve, reject) => {
      this.waiting.set(serial, { resolve, reject });
      this.socket.write(Buffer.concat([header.buffer(), body.buffer()]));
    });
  }

  private async authenticate(): Promise<void> {
    const uid = Buffer.from(String(process.getuid?.() ?? 0)).toString('hex');
    this.socket.write(`\0AUTH EXTERNAL ${uid}\r\n`);
    const line = await new Promise<string>((resolve, reject) => {
      let text = '';
      const onData = (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (!text.includes('\r\n')) return;
        this.socket.off('data', onData);
        resolve(text.slice(0, text.indexOf('\r\n')));
      };
      this.socket.on('data', onData);
      this.socket.once('error', reject);
      this.socket.once('close', () => reject(new Error('the D-Bus session bus closed the connection while authenticating')));
    });
    if (!line.startsWith('OK ')) throw new Error(`the D-Bus session bus refused authentication (${line})`);
    this.socket.write('BEGIN\r\n');
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error('the D-Bus session bus closed the connection')));
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 16) {
      if (this.buffer[0] !== 0x6c) return this.fail(new Error('the D-Bus session bus sent a big-endian message'));
      const bodyLength = this.buffer.readUInt32LE(4);
      const fieldsLength = this.buffer.readUInt32LE(12);
      const total = align(16 + fieldsLength, 8) + bodyLength;
      if (this.buffer.length < total) return;
      const message = this.buffer.subarray(0, total);
      this.buffer = this.buffer.subarray(total);
      this.dispatch(message);
    }
  }

  private dispatch(message: Buffer): void {
    const reader = new Reader(message);
    const [, type, , , , , fieldList] = reader.read('yyyyuua(yv)') as [number, number, number, number, number, number, DBusValue[]];
    reader.align(8);
    const fields = new Map((fieldList as [number, Variant][]).map(([code, variant]) => [code, variant.value]));
    const serial = fields.get(FIELD.replySerial) as number | undefined;
    const waiter = serial === undefined ? undefined : this.waiting.get(serial);
    if (!waiter || (type !== METHOD_RETURN && type !== ERROR)) return; // signals, e.g. NameAcquired
    this.waiting.delete(serial!);
    const signature = (fields.get(FIELD.signature) as string | undefined) ?? '';
    const body = reader.read(signature);
    if (type === METHOD_RETURN) waiter.resolve(body);
    else waiter.reject(new DBusError(String(fields.get(FIELD.errorName)), typeof body[0] === 'string' ? body[0] : ''));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiting.values()) waiter.reject(this.failure);
    this.waiting.clear();
  }
}

/** Splits a signature into its complete types ("a{ss}ao" → ["a{ss}", "ao"]). */
export function completeTypes(signature: string): string[] {
  const types: string[] = [];
  let i = 0;
  while (i < signature.length) {
    const end = endOfType(signature, i);
    types.push(signature.slice(i, end));
    i = end;
  }
  return types;
}

function endOfType(signature: string, start: number): number {
  const c = signature[start];
  if (c === 'a') return endOfType(signature, start + 1);
  if (c === '(' || c === '{') {
    const close = c === '(' ? ')' : '}';
    let i = start + 1;
    while (signature[i] !== close) {
      if (i >= signature.length) throw new Error(`unbalanced D-Bus signature ${signature}`);
      i = endOfType(signature, i);
    }
    return i + 1;
  }
  if (c === undefined || !'ybnqiuxtdsogvh'.includes(c)) throw new Error(`unsupported D-Bus type in signature ${signature}`);
  return start + 1;
}

function alignmentOf(type: string): number {
  switch (type[0]) {
    case 'y':
    case 'g':
    case 'v':
      return 1;
    case 'n':
    case 'q':
      return 2;
    case 'x':
    case 't':
    case 'd':
    case '(':
    case '{':
      return 8;
    default:
      return 4;
  }
}

function align(offset: number, to: number): number {
  return Math.ceil(offset / to) * to;
}

function innerTypes(type: string): string[] {
  return completeTypes(type.slice(1, -1));
}

class Writer {
  private bytes = Buffer.alloc(256);
  length = 0;

  buffer(): Buffer {
    return this.bytes.subarray(0, this.length);
  }

  write(signature: string, values: DBusValue[]): void {
    completeTypes(signature).forEach((type, i) => this.value(type, values[i]!));
  }

  align(to: number): void {
    const target = align(this.length, to);
    this.reserve(target - this.length);
    this.bytes.fill(0, this.length, target);
    this.length = target;
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const grown = Buffer.alloc(Math.max(this.bytes.length * 2, this.length + extra));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }

  private value(type: string, value: DBusValue): void {
    this.align(alignmentOf(type));
    switch (type[0]) {
      case 'y':
        this.reserve(1);
        this.bytes.writeUInt8(value as number, this.length++);
        return;
      case 'b':
      case 'u':
        this.reserve(4);
        this.bytes.writeUInt32LE(Number(value), this.length);
        this.length += 4;
        return;
      case 's':
      case 'o':
      case 'g': {
        const text = Buffer.from(value as string, 'utf8');
        const short = type === 'g';
        this.reserve(text.length + 5);
        if (short) this.bytes.writeUInt8(text.length, this.length++);
        else {
          this.bytes.writeUInt32LE(text.length, this.length);
          this.length += 4;
        }
        text.copy(this.bytes, this.length);
        this.length += text.length;
        this.bytes.writeUInt8(0, this.length++);
        return;
      }
      case 'v': {
        const variant = value as Variant;
        this.value('g', variant.signature);
        this.value(variant.signature, variant.value);
        return;
      }
      case '(':
      case '{':
        innerTypes(type).forEach((inner, i) => this.value(inner, (value as DBusValue[])[i]!));
        return;
      case 'a': {
        const element = type.slice(1);
        this.reserve(4);
        const lengthAt = this.length;
        this.length += 4;
        this.align(alignmentOf(element));
        const start = this.length;
        const items = value instanceof Map ? [...value].map(([k, v]) => [k, v] as DBusValue[]) : (value as DBusValue[]);
        for (const item of items) this.value(element, item);
        this.bytes.writeUInt32LE(this.length - start, lengthAt);
        return;
      }
      default:
        throw new Error(`writing D-Bus type ${type} is not supported`);
    }
  }
}

class Reader {
  private offset = 0;

  constructor(private readonly bytes: Buffer) {}

  read(signature: string): DBusValue[] {
    return completeTypes(signature).map((type) => this.value(type));
  }

  align(to: number): void {
    this.offset = align(this.offset, to);
  }

  private value(type: string): DBusValue {
    this.align(alignmentOf(type));
    const at = this.offset;
    switch (type[0]) {
      case 'y':
        this.offset += 1;
        return this.bytes.readUInt8(at);
      case 'b':
        this.offset += 4;
        return this.bytes.readUInt32LE(at) !== 0;
      case 'n':
        this.offset += 2;
        return this.bytes.readInt16LE(at);
      case 'q':
        this.offset += 2;
        return this.bytes.readUInt16LE(at);
      case 'i':
      case 'h':
        this.offset += 4;
        return type === 'i' ? this.bytes.readInt32LE(at) : this.bytes.readUInt32LE(at);
      case 'u':
        this.offset += 4;
        return this.bytes.readUInt32LE(at);
      case 'x':
        this.offset += 8;
        return this.bytes.readBigInt64LE(at);
      case 't':
        this.offset += 8;
        return this.bytes.readBigUInt64LE(at);
      case 'd':
        this.offset += 8;
        return this.bytes.readDoubleLE(at);
      case 's':
      case 'o': {
        const length = this.bytes.readUInt32LE(at);
        this.offset = at + 4 + length + 1;
        return this.bytes.toString('utf8', at + 4, at + 4 + length);
      }
      case 'g': {
        const length = this.bytes.readUInt8(at);
        this.offset = at + 1 + length + 1;
        return this.bytes.toString('latin1', at + 1, at + 1 + length);
      }
      case 'v': {
        const signature = this.value('g') as string;
        return { signature, value: this.value(signature) };
      }
      case '(':
      case '{':
        return innerTypes(type).map((inner) => this.value(inner));
      case 'a': {
        const element = type.slice(1);
        const length = this.bytes.readUInt32LE(at);
        this.offset = at + 4;
        this.align(alignmentOf(element));
        const end = this.offset + length;
        const items: DBusValue[] = [];
        while (this.offset < end) items.push(this.value(element));
        if (element[0] !== '{') return items;
        return new Map((items as [string, DBusValue][]).map(([key, value]) => [String(key), value]));
      }
      default:
        throw new Error(`reading D-Bus type ${type} is not supported`);
    }
  }
}

/** D-Bus addresses escape bytes as %XX. */
function unescapeAddress(value: string): string {
  return value.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
