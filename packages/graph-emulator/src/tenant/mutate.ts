import type { EmulatorCore } from '../core';
import type { Change } from '../types';

export function mutateTenant(_core: EmulatorCore, _count: number, _seed?: number): Change[] {
  return [];
}
