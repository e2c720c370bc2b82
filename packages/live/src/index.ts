export * from './state/bot-store.ts';
export * from './venue/venue.ts';
export * from './venue/paper-venue.ts';
export * from './bot/client-id.ts';
export * from './bot/bot-events.ts';
export * from './bot/trading-bot.ts';
