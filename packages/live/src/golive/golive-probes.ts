import { Bot } from 'grammy';
import { redactSecret } from '@oitrader/core';
import type { GoLiveItem } from './golive-evidence.ts';

/** The go-live items only a live probe can prove, each with a deadline: nothing here may hang the check. */

const PROBE_TIMEOUT_MS = 10_000;

export async function telegramProbe(o: { enabled: boolean; token: string; chatId: string; apiRoot?: string; bot: string }): Promise<GoLiveItem> {
  const item = 'Telegram delivers a test message';
  if (!o.enabled || o.token === '' || o.chatId === '') return { item, pass: false, evidence: 'telegram.enabled is false or TELEGRAM_TOKEN / TELEGRAM_CHAT_ID is unset: a live bot must be able to alert you' };
  redactSecret(o.token);
  const bot = new Bot(o.token, { client: { timeoutSeconds: PROBE_TIMEOUT_MS / 1000, ...(o.apiRoot && { apiRoot: o.apiRoot }) } });
  try {
    const sent = await bot.api.sendMessage(o.chatId, `✅ oitrader golive check for bot ${o.bot}: this chat receives the bot's alerts`);
    return { item, pass: true, evidence: `message ${sent.message_id} delivered to chat ${o.chatId} at ${new Date().toISOString().slice(0, 19)} UTC` };
  } catch (error) {
    return { item, pass: false, evidence: `not delivered to chat ${o.chatId}: ${(error as Error).message}` };
  }
}

/** The running bot's dashboard answers /api/state (a bot that serves none, or is not running, fails). */
export async function dashboardProbe(o: { enabled: boolean; host: string; port: number }): Promise<GoLiveItem> {
  const item = 'the dashboard answers';
  if (!o.enabled) return { item, pass: false, evidence: 'dashboard.enabled is false: a live bot needs its dashboard to be watched and steered' };
  const host = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${o.port}/api/state`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    if (!res.ok) return { item, pass: false, evidence: `${url} answered ${res.status}` };
    const state = (await res.json()) as { bot?: string; control?: { lastCandleMs?: number } };
    const last = state.control?.lastCandleMs;
    return { item, pass: true, evidence: `${url} answered for bot ${state.bot ?? '?'}${last ? `, last candle ${new Date(last).toISOString().slice(0, 16)} UTC` : ''}` };
  } catch (error) {
    return { item, pass: false, evidence: `${url} did not answer (${(error as Error).cause ?? (error as Error).message}): start the bot (oitrader bot run) and run the check beside it` };
  }
}
