/**
 * Meteor's `meteor.loginServiceConfiguration` publication. Meteor-style clients (Meteor's own,
 * asteroid, the Rocket.Chat SDK's driver) subscribe to it on connect to learn the OAuth login
 * services; a 404 `nosub` becomes an unhandled rejection inside some of them. ddp-guard has no
 * OAuth services, so the publication is empty and ready at once.
 */
import type { DdpServer } from '../ddp/ddp-server.js';

/** The publication's name, as Meteor's accounts-base declares it. */
export const LOGIN_SERVICE_CONFIGURATION = 'meteor.loginServiceConfiguration';

export function publishLoginServiceConfiguration(server: DdpServer): void {
  server.publish(LOGIN_SERVICE_CONFIGURATION, function () {
    this.ready();
  });
}
