// @porthole/hub/testing: what tests of the hub and of its users build on — a whole hub on loopback
// (startTestHub), the HTTP edge on loopback with stand-in devices, a registry over a test database
// with a settable clock, a throwaway TLS certificate, and a reader for one metric's value.
export { DOMAIN, PORTAL, TEST_CONFIG, echoThrough, fakeAuth, rawExchange, request, route, signIn, startDevice, startHub, useDeviceBehindHub, type HarnessOptions, type HubRequestInit, type TestDevice, type TestEdgeHub, type SeenRequest, type SimpleResponse } from './testing/http-harness.js';
export { TEST_CERT, TEST_KEY } from './testing/test-cert.js';
export { HUB_PUBLIC_KEY, createTestClock, createTestRegistry, testKey, useRegistryTestBed, type RegistryTestBed, type RegistryTestBedOptions, type TestClock, type TestRegistry } from './testing/registry-test-bed.js';
export { metricValue } from './ops/metrics.js';
export { TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD, startTestHub, type TestHub, type TestHubOptions } from './testing/test-hub.js';
