#include <stdlib.h>

#include "suites.h"

int main(void)
{
	SRunner *sr = srunner_create(proto_suite());
	int nf;

	srunner_add_suite(sr, store_suite());
	srunner_add_suite(sr, history_suite());
	srunner_add_suite(sr, phi_suite());
	srunner_add_suite(sr, core_suite());
	srunner_add_suite(sr, outbox_suite());
	srunner_add_suite(sr, sysmetrics_suite());
	srunner_add_suite(sr, backoff_suite());
	srunner_add_suite(sr, urls_suite());
	srunner_add_suite(sr, auth_suite());
	srunner_add_suite(sr, table_suite());
	srunner_add_suite(sr, health_suite());
	srunner_add_suite(sr, checks_suite());
	srunner_add_suite(sr, statsd_suite());
	srunner_add_suite(sr, groups_suite());
	srunner_add_suite(sr, lease_suite());
	srunner_add_suite(sr, sim_suite());
	srunner_add_suite(sr, hooks_suite());
	srunner_add_suite(sr, dash_suite());
	srunner_add_suite(sr, alerts_suite());
	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, sinks_suite());
	srunner_add_suite(sr, alerts_store_suite());
	srunner_run_all(sr, CK_ENV);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
