export * from './errors';
export * from './odata';
export * from './requestId';
export * from './concurrencyLimiter';
export * from './partnerCenterClient';
export * from './types';
