"""The PaNOSC federated search-api provider at /panosc/ (issue 19, item 4): the search-api's REST model
(github panosc-eu/search-api, doc/) answered from the federation through the hub's own GraphQL."""
