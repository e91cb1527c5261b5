import type { EmulatorCore } from '../core';
import type { ObjectType } from '../tenant/directory';
import type { JsonObject } from '../types';
import { project } from './query';
import { OBJECT_SCHEMA } from './schema';

/** A directoryObject in a mixed collection (members, owners): @odata.type plus the type's properties. */
export function renderDirectoryObject(core: EmulatorCore, id: string, select: readonly string[] | null): JsonObject | null {
  const type = core.dir.typeOf(id);
  if (!type) return null;
  const obj = core.dir.getObject(id) as JsonObject;
  const schema = OBJECT_SCHEMA[type];
  const out: JsonObject = { '@odata.type': schema.odataType };
  if (select) {
    for (const k of select) {
      const canon = schema.props.get(k.toLowerCase());
      if (canon) out[canon] = obj[canon] ?? null;
    }
    return out;
  }
  return Object.assign(out, project(obj, null, schema));
}

export function odataTypeOf(type: ObjectType): string {
  return OBJECT_SCHEMA[type].odataType;
}
