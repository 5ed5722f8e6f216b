/** jest's `webhook` project: the harness runs every execution in webhook mode (see harness.ts). */
process.env.TEST_TRANSCRIPT_DELIVERY = 'webhook';
