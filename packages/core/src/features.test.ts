import { describe, expect, it } from 'vitest';
import { decodeOrgControl, encodeOrgControl, orgControlChannel } from './control.js';
import { DomainError } from './errors.js';
import { moduleSettings, overridesToStore, visibleModules } from './features.js';

const LICENSED = ['multi_tenant', 'sharing'];

describe('per-tenant features', () => {
  it('give a new org every licensed module', () => {
    expect(visibleModules('active', LICENSED, {})).toEqual(['agents', 'alerts', 'audit', 'api_tokens', 'sharing']);
    expect(visibleModules('active', [], {})).toEqual(['agents', 'alerts', 'audit', 'api_tokens']);
  });

  it('store only the modules turned off, and drop an override that turns a module back on', () => {
    expect(overridesToStore(LICENSED, { alerts: false, agents: true })).toEqual({ alerts: false });
    expect(overridesToStore(LICENSED, {})).toEqual({});
  });

  it('refuse turning on a module the license lacks, naming it', () => {
    let caught: unknown;
    try {
      overridesToStore([], { sharing: true });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DomainError);
    expect((caught as DomainError).code).toBe('FEATURE_NOT_LICENSED');
    expect((caught as DomainError).message).toContain('sharing');
    expect(overridesToStore([], { sharing: false })).toEqual({ sharing: false });
  });

  it('show no module at all while the org is suspended or being deleted', () => {
    expect(visibleModules('suspended', LICENSED, {})).toEqual([]);
    expect(visibleModules('pending_deletion', LICENSED, {})).toEqual([]);
    expect(visibleModules('deleting', LICENSED, {})).toEqual([]);
  });

  it('list every module with whether the license allows it and whether it is on', () => {
    const settings = moduleSettings([], { alerts: false });
    expect(settings.find((s) => s.module === 'alerts')).toEqual({ module: 'alerts', available: true, enabled: false });
    expect(settings.find((s) => s.module === 'sharing')).toEqual({
      module: 'sharing',
      available: false,
      enabled: false,
    });
    expect(settings.find((s) => s.module === 'audit')?.enabled).toBe(true);
  });
});

describe('org control messages', () => {
  it('travel on the org namespace and decode only known types', () => {
    expect(orgControlChannel('o1')).toBe('org:o1:control');
    expect(decodeOrgControl(encodeOrgControl('suspended'))).toEqual({ type: 'suspended' });
    expect(decodeOrgControl('{"type":"other"}')).toBeNull();
    expect(decodeOrgControl('not json')).toBeNull();
  });
});

describe('stored files of an org', () => {
  it('live in one directory per org and refuse names that climb out of it', async () => {
    const { orgFilesPath } = await import('./storage.js');
    const id = '6f1c1d1e-0000-4000-8000-000000000001';
    expect(orgFilesPath('/data/', id, 'logo')).toBe(`/data/files/${id}/logo`);
    expect(() => orgFilesPath('/data', '../etc')).toThrow(TypeError);
    expect(() => orgFilesPath('/data', id, '..')).toThrow(TypeError);
  });
});

describe('org logos', () => {
  it('are recognised by their bytes, not by what the client claims', async () => {
    const { sniffLogoType } = await import('./storage.js');
    expect(sniffLogoType(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]))).toBe('image/png');
    expect(sniffLogoType(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('image/jpeg');
    expect(sniffLogoType(new TextEncoder().encode('GIF89a...'))).toBe('image/gif');
    expect(sniffLogoType(new TextEncoder().encode('RIFF\0\0\0\0WEBPVP8 '))).toBe('image/webp');
    expect(sniffLogoType(new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeNull();
  });
});
