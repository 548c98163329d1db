from indicators.views import grid, review, station

urlpatterns = [*station.urlpatterns, *review.urlpatterns, *grid.urlpatterns]
