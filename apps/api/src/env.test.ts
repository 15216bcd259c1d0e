import { describe, expect, it } from 'vitest';
import { loadApiEnv } from './env.js';

describe('loadApiEnv', () => {
  it('applies the documented defaults', () => {
    const env = loadApiEnv({});
    expect(env).toMatchObject({
      PORT: 3000,
      HOST: '127.0.0.1',
      PUBLIC_URL: 'http://localhost:3000',
      DATA_DIR: './.data',
      REDIS_URL: 'redis://127.0.0.1:6379',
      MULTI_TENANT_ENABLED: false,
      SIGNUP_MODE: 'open',
      ORG_CREATION: 'any',
      SESSION_TTL: 30 * 86_400_000,
      LOG_LEVEL: 'info',
    });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.WEB_DIST).toMatch(/apps\/web\/dist$/);
  });

  it('derives PUBLIC_URL from PORT and accepts flag spellings', () => {
    expect(loadApiEnv({ PORT: '8080' }).PUBLIC_URL).toBe('http://localhost:8080');
    for (const [value, expected] of [
      ['true', true],
      ['1', true],
      ['false', false],
      ['0', false],
    ] as const) {
      expect(loadApiEnv({ MULTI_TENANT_ENABLED: value }).MULTI_TENANT_ENABLED).toBe(expected);
    }
    expect(loadApiEnv({ PUBLIC_URL: 'https://t.example.com/' }).PUBLIC_URL).toBe('https://t.example.com');
    expect(loadApiEnv({ SESSION_TTL: '12h' }).SESSION_TTL).toBe(12 * 3_600_000);
  });

  it('turns \\n escapes of LICENSE_PUBLIC_KEY into newlines', () => {
    const env = loadApiEnv({ LICENSE_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\\nabc\\n-----END PUBLIC KEY-----' });
    expect(env.LICENSE_PUBLIC_KEY).toBe('-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----');
  });

  it('stops with a message naming each bad variable', () => {
    expect(() => loadApiEnv({ MULTI_TENANT_ENABLED: 'yes' })).toThrow(/MULTI_TENANT_ENABLED/);
    expect(() => loadApiEnv({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadApiEnv({ SIGNUP_MODE: 'closed' })).toThrow(/SIGNUP_MODE/);
    expect(() => loadApiEnv({ ORG_CREATION: 'admins' })).toThrow(/ORG_CREATION/);
    expect(() => loadApiEnv({ SESSION_TTL: 'forever' })).toThrow(/SESSION_TTL/);
    expect(() => loadApiEnv({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
  });

  it('reads the deletion grace period, 0 (the default) meaning at once', () => {
    expect(loadApiEnv({}).DELETION_GRACE).toBe(0);
    expect(loadApiEnv({ DELETION_GRACE: '0' }).DELETION_GRACE).toBe(0);
    expect(loadApiEnv({ DELETION_GRACE: '7d' }).DELETION_GRACE).toBe(7 * 86_400_000);
    expect(() => loadApiEnv({ DELETION_GRACE: 'soon' })).toThrow(/DELETION_GRACE/);
    expect(() => loadApiEnv({ QUEUE_PREFIX: 'has space' })).toThrow(/QUEUE_PREFIX/);
  });

  it('never echoes connection strings, which may hold passwords', () => {
    expect(() => loadApiEnv({ DATABASE_URL: 'mysql://user:s3cret@host/db' })).toThrow(/^(?![\s\S]*s3cret)/);
  });

  it('reads the metrics settings and never echoes a bad METRICS_TOKEN', () => {
    const defaults = loadApiEnv({});
    expect(defaults.METRICS_HOST).toBe('127.0.0.1');
    expect(defaults.METRICS_PORT).toBeUndefined();
    expect(defaults.METRICS_TOKEN).toBeUndefined();
    expect(loadApiEnv({ METRICS_PORT: '9464', METRICS_TOKEN: 'a'.repeat(32) })).toMatchObject({
      METRICS_PORT: 9464,
      METRICS_TOKEN: 'a'.repeat(32),
    });
    expect(() => loadApiEnv({ METRICS_PORT: 'ninety' })).toThrow(/METRICS_PORT/);
    expect(() => loadApiEnv({ METRICS_TOKEN: 'short-secret' })).toThrow(/METRICS_TOKEN: expected at least 16/);
    expect(() => loadApiEnv({ METRICS_TOKEN: 'short-secret' })).not.toThrow(/short-secret/);
    expect(() => loadApiEnv({ QUEUE_PREFIX: 'has space' })).toThrow(/QUEUE_PREFIX/);
  });
});
