/* Every unit-test file tests/check_<module>.c exports one suite; check_main.c
 * runs them all in one SRunner so there is one summary line. */
#ifndef VIGIL_TESTS_SUITES_H
#define VIGIL_TESTS_SUITES_H

#include <check.h>

Suite *proto_suite(void);
Suite *store_suite(void);
Suite *history_suite(void);
Suite *phi_suite(void);
Suite *core_suite(void);
Suite *outbox_suite(void);
Suite *sysmetrics_suite(void);
Suite *backoff_suite(void);
Suite *urls_suite(void);
Suite *auth_suite(void);
Suite *table_suite(void);
Suite *health_suite(void);
Suite *checks_suite(void);
Suite *statsd_suite(void);
Suite *groups_suite(void);
Suite *lease_suite(void);
Suite *sim_suite(void);
Suite *hooks_suite(void);
Suite *dash_suite(void);
Suite *alerts_suite(void);
Suite *config_suite(void);
Suite *sinks_suite(void);
Suite *alerts_store_suite(void);

#endif
