import { describe, expect, it } from 'vitest';
import { readableLine } from './processes';

// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

describe('npm start shows service logs readably', () => {
  it('turns a pino JSON line into time, level, message and fields on one line', () => {
    const line = plain(
      readableLine(
        '{"level":30,"time":1796065322660,"pid":7,"hostname":"vm","name":"sync-worker","runId":"r1","msg":"sync message handled"}',
      ),
    );
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: sync message handled \{"runId":"r1"\}$/);
    expect(line).not.toContain('hostname');
  });

  it('leaves every other line as it is', () => {
    expect(readableLine('Warden is running.')).toBe('Warden is running.');
    expect(readableLine('{"tenantId":"t","baseUrl":"https://localhost:8443"}')).toBe('{"tenantId":"t","baseUrl":"https://localhost:8443"}');
    expect(readableLine('{ not json')).toBe('{ not json');
  });
});
