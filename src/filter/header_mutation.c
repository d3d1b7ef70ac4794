/*
 * header_mutation.c - the "header_mutation" filter: removes, then adds or
 * replaces request headers on the way in and response headers on the way
 * out, as configured (request_headers_to_add/_remove,
 * response_headers_to_add/_remove).  Pseudo-headers are never touched.
 */
#include "switchyard/conf.h"
#include "switchyard/filter.h"
#include "switchyard/http.h"

static int
hm_apply(struct sy_msg *m, char *const *remove, unsigned nremove,
    const struct sy_conf_header_value *add, unsigned nadd)
{
	unsigned i;

	for (i = 0; i < nremove; i++)
		if (remove[i][0] != ':')
			sy_headers_remove(&m->headers, remove[i]);
	for (i = 0; i < nadd; i++) {
		if (add[i].name[0] == ':')
			continue;
		if ((add[i].append ? sy_headers_add_cstr(&m->headers, add[i].name, add[i].value) :
		    sy_headers_set(&m->headers, add[i].name, add[i].value)) == -1)
			return -1;
	}
	return 0;
}

static enum sy_filter_status
hm_decode_headers(struct sy_filter *f, struct sy_msg *m, bool end_stream)
{
	const struct sy_conf_filter *c = f->conf;

	hm_apply(m, c->request_headers_to_remove, c->nrequest_headers_to_remove,
	    c->request_headers_to_add, c->nrequest_headers_to_add);
	return SY_FILTER_CONTINUE;
}

static enum sy_filter_status
hm_encode_headers(struct sy_filter *f, struct sy_msg *m, bool end_stream)
{
	const struct sy_conf_filter *c = f->conf;

	hm_apply(m, c->response_headers_to_remove, c->nresponse_headers_to_remove,
	    c->response_headers_to_add, c->nresponse_headers_to_add);
	return SY_FILTER_CONTINUE;
}

const struct sy_filter_type sy_filter_header_mutation = {
	.name = "header_mutation",
	.decode_headers = hm_decode_headers,
	.encode_headers = hm_encode_headers,
};
