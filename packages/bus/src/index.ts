export { Bus, type BusOptions, type ConsumeContext, type ConsumeOptions } from './bus';
export { busNames, type BusNames } from './subjects';
export * from './contracts';
