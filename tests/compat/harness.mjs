// Shared pieces of the SDK compatibility tests: start `billord serve` on a free loopback
// port with a fresh data directory seeded from fixtures/demo.json, stop it with SIGTERM,
// and check the error each SDK family raises (SDK-WIRE.md "Error response").
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD_DIR = path.resolve(REPO_ROOT, process.env.BILLORD_BUILD_DIR || 'build');
export const BILLORD = path.join(BUILD_DIR, 'billord');
export const DEMO_FIXTURES = path.join(REPO_ROOT, 'fixtures', 'demo.json');

const START_TIMEOUT_MS = 15000;
const STOP_TIMEOUT_MS = 35000;   // above the server's own 30 s drain limit
const LISTENING_RE = /listening on http:\/\/127\.0\.0\.1:(\d+)/;

// The demo fixture's accounts and keys (fixtures/demo.json).
export const MAIN = { uid: '1234567890123456', keyId: 'LTAI5tDemoKey0001', secret: 'demo-secret-0001' };
export const NOPAY = { uid: '2000000000000002', keyId: 'LTAI5tDemoKey0002', secret: 'demo-secret-0002' };
export const POOR = { uid: '3000000000000003', keyId: 'LTAI5tDemoKey0003', secret: 'demo-secret-0003' };
export const WRONG_SECRET = { ...MAIN, secret: 'not-the-secret' };
export const UNKNOWN_KEY = { uid: '', keyId: 'LTAI5tNoSuchKey9999', secret: 'whatever' };

export const UNPAID_ORDER_ID = '205395023430728';   // Unpaid Renew order on i-acc0002
export const PAID_ORDER_ID = '205395023430001';     // Paid Renew order on i-acc0001

/** A ClientToken no other test uses (the server keeps tokens for days). */
export function freshToken(label) {
    return `${label}-${randomUUID()}`;
}

/**
 * Start `billord serve --listen 127.0.0.1:0` on a fresh temp data directory and resolve
 * once it prints its "listening on" line.
 * @returns {{port: number, proc: ChildProcess, output: () => string, stop: () => Promise}}
 */
export async function startServer({ fixtures = DEMO_FIXTURES, extraArgs = [] } = {}) {
    assert.ok(existsSync(BILLORD), `${BILLORD} is missing: build billord first (BILLORD_BUILD_DIR)`);
    const tempDir = mkdtempSync(path.join(tmpdir(), 'billord-compat-'));
    const requestLogPath = path.join(tempDir, 'requests.ndjson');
    const args = ['serve', '--data', path.join(tempDir, 'data'), '--listen', '127.0.0.1:0',
        '--fixtures', fixtures, '--request-log', requestLogPath, ...extraArgs];
    const proc = spawn(BILLORD, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const exited = new Promise((resolve) => {
        proc.on('exit', (code, signal) => resolve({ code, signal }));
    });
    const port = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`billord did not listen within ${START_TIMEOUT_MS} ms:\n${output}`)),
            START_TIMEOUT_MS);
        const onData = (chunk) => {
            output += chunk.toString('utf8');
            const match = LISTENING_RE.exec(output);
            if (match) {
                clearTimeout(timer);
                resolve(Number(match[1]));
            }
        };
        proc.stdout.on('data', onData);
        proc.stderr.on('data', onData);
        exited.then(({ code, signal }) => {
            clearTimeout(timer);
            reject(new Error(`billord exited (code ${code}, signal ${signal}) before listening:\n${output}`));
        });
    });
    const stop = async () => {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
        const result = await exited;
        clearTimeout(timer);
        rmSync(tempDir, { recursive: true, force: true });
        return { ...result, output };
    };
    /** The server's request log so far (docs/api.md "Request log"), one object a request. */
    const requestLog = () => readFileSync(requestLogPath, 'utf8').split('\n').filter((line) => line !== '')
        .map((line) => JSON.parse(line));
    return { port, proc, output: () => output, requestLog, stop };
}

/** Stop the server and check that SIGTERM made it exit 0 (SPEC section 1, docs/api.md). */
export async function stopAndCheck(server) {
    const { code, signal, output } = await server.stop();
    assert.equal(signal, null, `billord died from ${signal}:\n${output}`);
    assert.equal(code, 0, `billord exited ${code} after SIGTERM:\n${output}`);
}

async function rejection(promise) {
    try {
        const value = await promise;
        assert.fail(`expected an error, got success: ${JSON.stringify(value)}`);
    } catch (err) {
        if (err instanceof assert.AssertionError) {
            throw err;
        }
        return err;
    }
    return undefined;
}

/**
 * pop-core raises a plain Error: err.code and err.name from the body's Code, err.data the
 * body, no err.statusCode; the status is in err.entry.response.statusCode.
 */
export async function expectPopError(promise, code, status) {
    const err = await rejection(promise);
    assert.equal(err.code, code, `pop-core err.code (message: ${err.message})`);
    assert.equal(err.name, `${code}Error`);
    assert.equal(err.data?.Code, code);
    assert.match(err.data?.RequestId ?? '', UUID_RE);
    assert.equal(typeof err.data?.Message, 'string');
    assert.equal(err.statusCode, undefined);
    assert.equal(err.entry?.response?.statusCode, status, `HTTP status of ${code}`);
    return err;
}

/**
 * The typed ecs/rds clients (openapi-core) raise ClientError (4xx) or ServerError (5xx)
 * with err.code = Code, err.statusCode = the status, err.data = the body.
 */
export async function expectTypedError(promise, code, status) {
    const err = await rejection(promise);
    assert.equal(err.code, code, `typed client err.code (message: ${err.message})`);
    assert.equal(err.statusCode, status, `HTTP status of ${code}`);
    assert.equal(err.data?.Code, code);
    assert.match(err.requestId ?? '', UUID_RE);
    assert.equal(err.name, status >= 500 ? 'ServerError' : 'ClientError');
    assert.ok(err.message.startsWith(`${code}: code: ${status}, `), err.message);
    return err;
}

export const UUID_RE = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;

/** OrderId as a decimal string: pop-core gives a number, the ECS model a string. */
export function orderIdText(value) {
    assert.ok(value !== undefined && value !== null, 'OrderId missing');
    const text = String(value);
    assert.match(text, /^[1-9][0-9]{0,15}$/);
    assert.ok(Number(text) < 2 ** 53, `OrderId ${text} is not below 2^53`);
    return text;
}
