from indicators.views import grid, review, sheets, station

urlpatterns = [*station.urlpatterns, *review.urlpatterns, *grid.urlpatterns, *sheets.urlpatterns]
